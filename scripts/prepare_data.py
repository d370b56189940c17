"""Rule `prepare_data`: build one dataset as results/data/<name>.npz + a JSON sidecar."""

from dropout_sme import data, io

sm = snakemake  # noqa: F821
with io.rule_job(sm):
    arrays, meta = data.prepare(sm.params.spec, sm.params.data_dir)
    print(f"{sm.wildcards.dataset}: {meta['n_train']} train / {meta['n_test']} test examples, "
          f"{meta['n_features']} features, hash {meta['content_hash'][:12]}")
    io.save_npz(sm.output.npz, **arrays)
    io.save_json(sm.output.meta, io.provenance(dict(sm.params.spec), dataset=sm.wildcards.dataset,
                                               **meta))
