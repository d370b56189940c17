"""Configuration: readable validation errors (``errors``), the cross-key checks a schema cannot
express (``checks``) and the jobs a config defines with what each needs (``specs``).

The workflow validates the config with ``snakemake.utils.validate`` against
``workflow/schemas/config.schema.yaml`` (which also fills the defaults), then calls ``check``.
Nothing here imports torch: the DAG is parsed without it.
"""

from .checks import SEQUENCE_SOURCES, check, load
from .errors import ConfigError, explain, key_path, schema_error
from .specs import (activation_cells, compute_jobs, datasets_used, heatmap_cells, keep_sweep_spec,
                    linear_spec, mask_sensitivity_spec, noise_jobs, noise_settings, noise_spec,
                    other_mask, run_spec, setting_name, settings, sharpness_spec, sme_cells,
                    sme_cost, sme_spec, sme_spec_cost, universality_experiments)

__all__ = ["SEQUENCE_SOURCES", "check", "load", "ConfigError", "explain", "key_path",
           "schema_error", "activation_cells", "compute_jobs", "datasets_used", "heatmap_cells",
           "keep_sweep_spec", "linear_spec", "mask_sensitivity_spec", "noise_jobs",
           "noise_settings", "noise_spec", "other_mask", "run_spec", "setting_name", "settings",
           "sharpness_spec", "sme_cells", "sme_cost", "sme_spec", "sme_spec_cost",
           "universality_experiments"]
