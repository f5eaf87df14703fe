"""``awp``: AT with adversarial weight perturbation (Wu et al., 2020), ``mean CE(f_{w+v}(x′), y)``.

The weight perturbation is ``v_l = γ_awp·‖w_l‖·d_l/‖d_l‖`` per weight tensor;
:meth:`~mailviz.objectives.Objective.after_step` subtracts ``v`` after the optimiser step. The
proxy network that computes ``d`` is kept on the objective (``_proxy``) and reused.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mailviz.objectives._common import _stats, ce_on
from mailviz.objectives.settings import LossOutput
from mailviz.objectives.spec import MethodSpec

if TYPE_CHECKING:
    from mailviz.objectives.objective import Objective

#: AWP's proxy learning rate (Wu et al.'s code). ``v`` is rescaled per layer, so it only enters
#: through the ``1e-20`` guard of ``‖d_l‖``.
AWP_PROXY_LR = 0.01
_AWP_EPS = 1e-20


def _proxy_for(obj: Objective, net: nn.Module) -> nn.Module:
    """A persistent copy of ``net`` (created lazily, rebuilt when its structure changes)."""
    key = (id(net),) + tuple(
        (name, tuple(t.shape), t.dtype, t.device) for name, t in net.state_dict().items()
    )
    if obj._proxy is None or obj._proxy_key != key:
        obj._proxy = copy.deepcopy(net)
        obj._proxy_key = key
    return obj._proxy


def awp_perturbation(
    obj: Objective, net: nn.Module, x_adv: Tensor, y: Tensor
) -> list[tuple[Tensor, Tensor]]:
    """Wu et al.'s ``v_l = γ·‖w_l‖/(‖d_l‖ + 1e-20)·d_l`` for every weight tensor with dim > 1.

    ``d`` is one SGD step of the proxy (lr 0.01) that *maximises* ``CE(proxy(x′), y)`` in train
    mode: ``d_l = 0.01·∇_{w_l} CE``. Computed on the proxy so the network's BatchNorm
    statistics and ``.grad`` fields are untouched.
    """
    proxy = _proxy_for(obj, net)
    proxy.load_state_dict(net.state_dict())
    proxy.train()
    names = [
        n for n, p in net.named_parameters() if p.requires_grad and p.dim() > 1 and "weight" in n
    ]
    proxy_params = dict(proxy.named_parameters())
    net_params = dict(net.named_parameters())
    targets = [proxy_params[n] for n in names]
    with torch.enable_grad():
        for t in targets:
            t.requires_grad_(True)
        loss = F.cross_entropy(proxy(x_adv), y)
        grads = torch.autograd.grad(loss, targets, allow_unused=True)
    gamma = obj.params["awp_gamma"]
    pairs = []
    with torch.no_grad():
        for name, grad in zip(names, grads, strict=True):
            if grad is None:
                continue
            w = net_params[name]
            d = AWP_PROXY_LR * grad
            v = (gamma * w.norm() / (d.norm() + _AWP_EPS)) * d
            pairs.append((w, v.to(w.dtype)))
    return pairs


def loss_awp(
    obj: Objective, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
) -> LossOutput:
    """``mean CE(f_{w+v}(x′), y)``; ``v`` is added here and remembered for ``after_step``."""
    x_adv = obj._pgd(net, x, y).x_adv
    if epoch >= obj.params["awp_warmup"] and obj.params["awp_gamma"] > 0:
        pairs = awp_perturbation(obj, net, x_adv, y)
        with torch.no_grad():
            for param, v in pairs:
                param.add_(v)
        obj._pending = pairs
    logits, ce = ce_on(model, x_adv, y)
    return LossOutput(ce.mean(), _stats(logits, y, None))


SPEC = MethodSpec(
    "awp", loss_awp, {"awp_gamma": 5e-3, "awp_warmup": 0}, attack_loss="ce", start="uniform"
)
