"""WebShop in the pipeline (issue 4): the world (`rlgen.webshop.world`) and behaviour policies that
act through the choice interface (`rlgen.webshop.policies`). The environment side (the text env,
candidates, featurizer, vector adapter) is standalone in `rlgen_envs.webshop`.

Nothing is imported here, so `rlgen.worlds` can name `rlgen.webshop.world:make_world` without
paying for the catalog or the search index until a config uses WebShop.
"""
