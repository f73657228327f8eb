"""Residual correlation and variance structures (nlme's ``corStruct`` and ``varIdent``).

``spec`` holds the public :class:`AR1`, :class:`CAR1` and :class:`VarIdent`;
``whiten`` the per-group whitening and the recomputed cross-products;
``model`` the joint criterion over ``theta`` and the structure parameters.
"""

from .spec import AR1, CAR1, VarIdent

__all__ = ["AR1", "CAR1", "VarIdent"]
