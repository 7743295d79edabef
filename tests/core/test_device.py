"""Device names: one rule (`rlgen.core.device`) for configs, learners, PPO training and PPO policies."""

import pytest
import torch

from rlgen.core.device import check_device, resolve_device
from rlgen.core.typed import ConfigError


@pytest.mark.parametrize("name", ["tpu", "cuda:x", "cpu:", "gpu", "auto:0"])
def test_names_torch_would_refuse_are_refused_with_and_without_torch(name):
    with pytest.raises(ConfigError, match="is not a torch device rlgen uses"):
        check_device(name)
    with pytest.raises(ConfigError, match="is not a torch device rlgen uses"):
        resolve_device(name)


def test_cpu_names_resolve_to_the_cpu():
    assert resolve_device("cpu") == resolve_device("cpu:3") == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_auto_is_the_first_gpu_when_torch_sees_one():
    assert resolve_device("auto") == "cuda:0"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_a_gpu_this_process_cannot_see_is_refused():
    check_device("cuda:1")  # the spelling is fine: the GPU may be on the node that trains
    with pytest.raises(ConfigError, match="torch sees no GPU"):
        resolve_device("cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU fallback happens only where torch sees no GPU")
def test_auto_says_when_it_falls_back_to_the_cpu():
    with pytest.warns(RuntimeWarning, match="sees no GPU, so rlgen runs on the CPU"):
        assert resolve_device("auto") == "cpu"
