"""WebShop (Yao et al., 2022) for rlgen: a text shopping environment, its exact reward, a
generated catalog in the original's file layout, a streaming loader for the original files,
unseen goal splits, and two reference policies. Nothing here imports the rlgen pipeline.

```python
import gymnasium, rlgen_envs
env = gymnasium.make("rlgen/WebShop-v0", split="train")   # generated catalog, 'unseen' splits
obs, info = env.reset(seed=0)                              # obs: "WebShop [SEP] Instruction: [SEP] ..."
obs, reward, terminated, truncated, info = env.step("search[red t-shirt for men]")
```
"""

from rlgen_envs.webshop.catalog import Catalog, Goal, Product, build_catalog, load_catalog, load_catalog_folder
from rlgen_envs.webshop.env import WebShopEnv, parse_action
from rlgen_envs.webshop.generator import CatalogRecords, default_catalog, generate_catalog, generate_records
from rlgen_envs.webshop.policies import OraclePolicy, RuleBaselinePolicy, WebShopPolicy, choose_options, run_episode
from rlgen_envs.webshop.reward import RewardResult, compute_reward, fuzzy_score, normalize_color
from rlgen_envs.webshop.search import ProductSearch
from rlgen_envs.webshop.splits import GoalSplits, check_disjoint, make_splits, normalize_instruction
from rlgen_envs.webshop.streaming import iter_json_array, iter_json_object

__all__ = [
    "Catalog",
    "CatalogRecords",
    "Goal",
    "GoalSplits",
    "OraclePolicy",
    "Product",
    "ProductSearch",
    "RewardResult",
    "RuleBaselinePolicy",
    "WebShopEnv",
    "WebShopPolicy",
    "build_catalog",
    "check_disjoint",
    "choose_options",
    "compute_reward",
    "default_catalog",
    "fuzzy_score",
    "generate_catalog",
    "generate_records",
    "iter_json_array",
    "iter_json_object",
    "load_catalog",
    "load_catalog_folder",
    "make_splits",
    "normalize_color",
    "normalize_instruction",
    "parse_action",
    "run_episode",
]
