# dropout-sme: `snakemake --cores all` regenerates every figure and table of the paper.
# A config given with --configfile replaces config/config.yaml (it does not merge into it);
# --config key=value overrides single keys of either.
from snakemake.utils import min_version

min_version("9.12")

if not workflow.config_settings.configfiles:

    configfile: f"{workflow.basedir}/config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/sme.smk"
include: "workflow/rules/noise.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        all_targets(),
