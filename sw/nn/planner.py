"""Level planner: where the bootstraps go.

The lowered graph (:meth:`sw.nn.models.ResNet.graph`) is walked in order with the level
cost of each op (linear layers 1, an activation its polynomial depth, additions 0).
A tensor is bootstrapped (imaginary-removing bootstrapping, which returns it at
``boot_level``) just before the first op that needs more levels than it has left; a
bootstrapped tensor replaces the old one for every later consumer (a block input feeds
both the residual branch and the shortcut, and is refreshed once). An addition happens at
the lower of its operands' levels. The greedy choice is optimal for a chain (a bootstrap
placed later never has fewer levels available for what follows) and needs no search.

The executor (:mod:`sw.nn.encrypted`) follows the plan and checks that every tensor lands
on the planned level.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["LevelPlan", "plan_levels", "LevelPlanError"]


class LevelPlanError(ValueError):
    """An op needs more levels than a fresh or bootstrapped ciphertext provides."""


@dataclass
class LevelPlan:
    fresh_level: int
    boot_level: int | None
    bootstraps: list[tuple[str, str]] = field(default_factory=list)   # (before op, tensor)
    levels: dict[str, int] = field(default_factory=dict)              # tensor -> level after its op
    op_levels: dict[str, tuple[int, int]] = field(default_factory=dict)  # op -> (level in, level out)
    levels_consumed: int = 0

    @property
    def n_bootstraps(self) -> int:
        return len(self.bootstraps)

    def boots_before(self, op_name: str) -> list[str]:
        return [t for o, t in self.bootstraps if o == op_name]


def plan_levels(graph, cost: dict[str, int], fresh_level: int, boot_level: int | None) -> LevelPlan:
    """Plan bootstraps for ``graph`` (list of ``Op``) with per-op level costs ``cost``.

    Raises :class:`LevelPlanError` naming the op if an op cannot fit even after a bootstrap
    (or no bootstrapping is available).
    """
    plan = LevelPlan(fresh_level, boot_level)
    lv = {"input": fresh_level}
    for op in graph:
        if op.kind == "avgpool":
            lv[op.dst] = lv[op.src]
            plan.op_levels[op.name] = (lv[op.src], lv[op.src])
            continue
        need = int(cost.get(op.name, 0))
        srcs = [op.src] + ([op.src2] if op.src2 else [])
        for s in srcs:
            if lv[s] < need:
                if boot_level is None:
                    raise LevelPlanError(
                        f"{op.name}: needs {need} levels but its input {s!r} is at level {lv[s]} and no "
                        f"bootstrapping is available (fresh level {fresh_level}); use a parameter set with "
                        f"more levels or enable bootstrapping")
                if boot_level < need:
                    raise LevelPlanError(
                        f"{op.name}: needs {need} levels but a bootstrapped ciphertext has only {boot_level}")
                plan.bootstraps.append((op.name, s))
                lv[s] = boot_level
        lin = min(lv[s] for s in srcs)
        lv[op.dst] = lin - need
        plan.op_levels[op.name] = (lin, lin - need)
        plan.levels_consumed += need
    plan.levels = lv
    return plan
