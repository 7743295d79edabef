"""The world registry (`rlgen.worlds.registry`): registering a kind, refusing an unknown one, and
checking a config's kind only after its `imports:` ran. Each test works on a copy of the
registries, so the kinds it registers leave no trace in other tests."""

import textwrap

import pytest

from rlgen.core import config as core_config
from rlgen.core.config import EnvConfig, ExperimentConfig
from rlgen.core.typed import ConfigError
from rlgen.experiment import validate_experiment
from rlgen.worlds import WebShopWorld, WorldBase, register_world, registry, world_class, world_kinds, world_of


@pytest.fixture(autouse=True)
def _private_registries(monkeypatch):
    monkeypatch.setattr(registry, "_WORLDS", dict(registry._WORLDS))
    monkeypatch.setattr(core_config, "_ENV_LABELS", dict(core_config._ENV_LABELS))


class Tiny(WorldBase):
    kind = "tiny"
    num_actions = 3

    @classmethod
    def from_env(cls, env, behaviour_options):
        world = cls()
        world.options = dict(env.get("options") or {})
        return world


def test_a_registered_kind_builds_its_world_from_the_config():
    register_world("tiny", Tiny)
    register_world("tiny", Tiny)  # the same class again (a module imported twice) is no conflict
    world = world_of(ExperimentConfig(env=EnvConfig(kind="tiny", options={"size": 4})))
    assert isinstance(world, Tiny) and world.options == {"size": 4} and "tiny" in world_kinds()
    assert world_class("tiny") is Tiny


def test_names_and_classes_are_checked_when_registered():
    register_world("tiny", Tiny)
    with pytest.raises(ValueError, match="already registered"):
        register_world("tiny", type("Other", (Tiny,), {}))
    with pytest.raises(ValueError, match="identifier"):
        register_world("two words", Tiny)
    with pytest.raises(TypeError, match="from_env"):
        register_world("bare", object)


def test_an_unknown_kind_is_an_error_naming_the_registered_ones():
    config = ExperimentConfig(env=EnvConfig(kind="nowhere"))  # core knows no world: reading the config is fine
    with pytest.raises(ConfigError, match=r"unknown environment kind 'nowhere'; valid: .*procgen.*imports"):
        world_of(config)
    with pytest.raises(ConfigError, match="no world of kind 'nowhere' is registered"):
        config.dataset_name  # noqa: B018  (never a guessed name for data of an unknown world)


def test_the_kind_is_checked_after_the_configs_imports(tmp_path, monkeypatch):
    (tmp_path / "tiny_world_plugin.py").write_text(textwrap.dedent('''
        from rlgen.worlds import WorldBase, register_world

        class Plugged(WorldBase):
            kind = "plugged"
            num_actions = 2

            @classmethod
            def from_env(cls, env, behaviour_options):
                return cls()

        register_world("plugged", Plugged)
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    without = ExperimentConfig(env=EnvConfig(kind="plugged"))
    with pytest.raises(ConfigError, match="unknown environment kind 'plugged'"):
        validate_experiment(without)
    with_imports = ExperimentConfig(env=EnvConfig(kind="plugged"), imports=("tiny_world_plugin",))
    validate_experiment(with_imports)  # imports first, then the kind: no error
    assert world_of(with_imports).kind == "plugged"
    assert with_imports.dataset_name.startswith("plugged-L200-random-")


def test_a_world_names_its_datasets():
    def name(**options):
        return ExperimentConfig(env=EnvConfig(kind="webshop", options=options)).dataset_name

    assert name().startswith("webshop-L200-") and name(split_kind="unseen") == name()
    assert name(split_kind="attributes").startswith("webshop-attributes-L200-")
    assert WebShopWorld.dataset_label({"split_kind": "attributes"}) == "webshop-attributes"
    register_world("tiny", Tiny)
    assert ExperimentConfig(env=EnvConfig(kind="tiny", options={"size": 4})).dataset_name.startswith("tiny-L200-")
