"""WebShop in the pipeline (issue 4): behaviour policies that
act through the choice interface (`rlgen.webshop.policies`). The environment side (the text env,
candidates, featurizer, vector adapter) is standalone in `rlgen_envs.webshop`.

The world is `rlgen.worlds.webshop`. Nothing is imported here, so importing the policies does
not pay for the catalog or the search index until a config uses WebShop.
"""
