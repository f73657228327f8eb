"""Evaluation of formula variables with R's functions (``I``, ``poly``, ``scale``, ``factor``...).

Names are looked up in the data first: a column named ``I``, ``C``, ``pi`` or
``Treatment`` is that column; a function is recognised only when called.
Data-dependent transformations (``poly``, ``scale``) keep the values they
learnt on the training rows in a *state* dictionary, so that new data are
transformed with the training basis, as R's ``makepredictcall`` does.

Supported functions
-------------------
==========================================  ======================================
``I(expr)``                                 arithmetic as R: ``^`` is a power
``+ - * / ^ %% %/%``, comparisons, ``& | !``  inside ``I()`` and function arguments
``log(x, base)`` ``log1p`` ``log2``          elementwise, as R
``log10`` ``exp`` ``expm1`` ``sqrt`` ``abs``
``sin`` ``cos`` ``tan`` ``floor`` ``ceiling``
``pi``, ``TRUE``/``T``, ``FALSE``/``F``       when no column has that name
``poly(x, k)``, ``poly(x, k, raw = TRUE)``   orthogonal as R (training basis kept)
``scale(x, center, scale)``                  training centre and scale kept
``factor(x)``, ``as.factor(x)``,             levels as R (sorted; categorical order)
``ordered(x)``, ``as.ordered(x)``
``as.numeric(x)``, ``as.integer(x)``         a factor gives its level numbers
``interaction(a, b, ...)``                   levels ``a.b``, first factor fastest
``dummy(f, levels)``                         lme4's indicator columns
==========================================  ======================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..errors import ColumnTypeError, FormulaError
from .rlang import BinOp, Call, Name, Node, Num, Paren, Str, Unary, deparse
from .rvalues import Factor, RMatrix, as_r_value, character_factor, numeric_factor, r_label

__all__ = ["UNSUPPORTED_FUNCTIONS", "Evaluator"]

Value = Any  # ndarray (float or bool), Factor, RMatrix, float, str, tuple

#: Functions users of other formula languages write, with what to write instead.
UNSUPPORTED_FUNCTIONS: dict[str, str] = {
    "C": "set contrasts with the contrasts= argument, e.g. contrasts={'f': 'contr.sum'}",
    "bs": "splines are not supported: compute the basis columns in the data frame",
    "ns": "splines are not supported: compute the basis columns in the data frame",
    "cr": "splines are not supported: compute the basis columns in the data frame",
    "cc": "splines are not supported: compute the basis columns in the data frame",
    "s": "smooth terms are not supported: use a GAM package",
    "center": "write scale(x, scale = FALSE)",
    "Q": "Q() takes one quoted column name, Q('my column'); or write `my column`",
    "relevel": "order the categories in the data frame (pandas.Categorical)",
    "cut": "compute the binned column in the data frame",
    "lookup": "compute the column in the data frame",
}

_ELEMENTWISE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "log1p": np.log1p,
    "log2": np.log2,
    "log10": np.log10,
    "exp": np.exp,
    "expm1": np.expm1,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "floor": np.floor,
    "ceiling": np.ceil,
    "trunc": np.trunc,
    "sign": np.sign,
}

#: numpy spellings of the elementwise functions (formulaic formulas use them): the same function.
_NUMPY_ALIASES: dict[str, str] = {
    f"{prefix}.{name}": target
    for prefix in ("np", "numpy")
    for name, target in [
        *((name, name) for name in _ELEMENTWISE if name not in ("ceiling",)),
        ("log", "log"),
        ("ceil", "ceiling"),
        ("arcsin", "asin"),
        ("arccos", "acos"),
        ("arctan", "atan"),
        ("absolute", "abs"),
    ]
}

_CONSTANTS: dict[str, object] = {"pi": np.pi, "TRUE": True, "T": True, "FALSE": False, "F": False}


def _arithmetic(op: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        return np.true_divide(left, right)
    if op == "^":
        return np.power(np.asarray(left, dtype=float), right)
    if op == "%%":
        return np.mod(left, right)
    if op == "%/%":
        return np.floor_divide(left, right)
    comparisons = {
        "==": np.equal,
        "!=": np.not_equal,
        "<": np.less,
        ">": np.greater,
        "<=": np.less_equal,
        ">=": np.greater_equal,
    }
    if op in comparisons:
        return comparisons[op](left, right)
    if op in ("&", "|"):
        function = np.logical_and if op == "&" else np.logical_or
        return function(np.asarray(left, dtype=bool), np.asarray(right, dtype=bool))
    raise FormulaError(f"operator {op!r} is not supported inside I() or a function argument")


class Evaluator:
    """Evaluates variables of a formula on data columns.

    Parameters
    ----------
    column : callable
        ``column(name)`` returns the data column ``name`` (a Series or array), or
        raises ``KeyError`` when the data has no such column.
    n_rows : int
    state : dict
        Values learnt by ``poly`` and ``scale``; filled when ``training``,
        read otherwise.
    training : bool
    """

    def __init__(
        self,
        column: Callable[[str], object],
        n_rows: int,
        state: dict[str, Any],
        training: bool,
    ) -> None:
        self.column = column
        self.n_rows = n_rows
        self.state = state
        self.training = training
        self._cache: dict[str, Value] = {}

    # ---------------------------------------------------------------- dispatch
    def __call__(self, node: Node) -> Value:
        if isinstance(node, Name):
            return self.name(node.text)
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Str):
            return node.value
        if isinstance(node, Paren):
            return self(node.inner)
        if isinstance(node, Unary):
            operand = self.numeric(node.operand, f"{node.op}{deparse(node.operand)}")
            if node.op == "!":
                return ~np.asarray(operand, dtype=bool)
            return -operand if node.op == "-" else operand
        if isinstance(node, BinOp):
            if node.op in ("|", "||", "~"):
                raise FormulaError(f"{deparse(node)!r}: {node.op!r} is not allowed here")
            context = deparse(node)
            left = self.numeric(node.left, context)
            right = self.numeric(node.right, context)
            with np.errstate(all="ignore"):
                return _arithmetic(node.op, left, right)
        return self.call(node)

    def name(self, name: str) -> Value:
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        try:
            raw = self.column(name)
        except KeyError:
            if name in _CONSTANTS:
                return _CONSTANTS[name]
            raise FormulaError(f"{name!r} is not a column of the data") from None
        value = as_r_value(raw)
        self._cache[name] = value
        return value

    def numeric(self, node: Node, context: str) -> np.ndarray | float:
        """A numeric (or logical) value; a factor here is a type error naming the variable."""
        value = self(node)
        if isinstance(value, Factor):
            raise ColumnTypeError(
                f"{deparse(node)!r} in {context!r} is categorical; arithmetic needs numbers "
                f"(write as.numeric({deparse(node)}) for its level numbers)"
            )
        if isinstance(value, RMatrix):
            if value.values.shape[1] != 1:
                raise FormulaError(f"{deparse(node)!r} in {context!r} has several columns")
            return value.values[:, 0]
        if isinstance(value, str):
            raise FormulaError(f"the string {value!r} in {context!r} is not a number")
        if isinstance(value, bool):
            return float(value)
        return value

    # ---------------------------------------------------------------- functions
    def call(self, node: Call) -> Value:
        func = _NUMPY_ALIASES.get(node.func, node.func)
        if func != node.func:
            node = Call(func, node.args)
        positional = [value for name, value in node.args if name is None]
        keywords = {name: value for name, value in node.args if name is not None}
        if func == "I":
            if len(node.args) != 1:
                raise FormulaError(f"I() takes one expression, got {deparse(node)!r}")
            return self(node.args[0][1])
        if func in _ELEMENTWISE or func == "log":
            return self.elementwise(node, positional, keywords)
        handlers = {
            "poly": self.poly,
            "scale": self.scale,
            "factor": self.factor,
            "as.factor": self.factor,
            "ordered": self.factor,
            "as.ordered": self.factor,
            "as.numeric": self.as_numeric,
            "as.double": self.as_numeric,
            "as.integer": self.as_numeric,
            "interaction": self.interaction,
            "dummy": self.dummy,
        }
        if func in handlers:
            return handlers[func](node, positional, keywords)
        if func == "offset":
            raise FormulaError(
                f"{deparse(node)!r}: offset() belongs at the top level of the formula "
                "(y ~ x + offset(z) + (1 | g))"
            )
        hint = UNSUPPORTED_FUNCTIONS.get(func)
        raise FormulaError(
            f"function {func}() in {deparse(node)!r} is not supported in a formula"
            + (
                f": {hint}"
                if hint
                else f" ({func!r} is not a column of the data nor a known function); compute "
                "the column in the data frame first"
            )
        )

    def _argument(
        self,
        node: Call,
        positional: list[Node],
        keywords: dict[str, Node],
        index: int,
        name: str,
        default: object = None,
    ) -> Node | object:
        if name in keywords:
            return keywords[name]
        if len(positional) > index:
            return positional[index]
        if default is None:
            raise FormulaError(f"{deparse(node)!r}: argument {name!r} is missing")
        return default

    def _check_arguments(
        self, node: Call, positional: list[Node], keywords: dict[str, Node], names: tuple[str, ...]
    ) -> None:
        unknown = [name for name in keywords if name not in names]
        unknown += [name for name in names[: len(positional)] if name in keywords]
        if unknown or len(positional) > len(names):
            raise FormulaError(
                f"{deparse(node)!r}: {node.func}() takes the arguments {list(names)} here"
                + (f"; {unknown} are not supported or given twice" if unknown else "")
                + ("; poly() of several variables is not supported" if node.func == "poly" else "")
            )

    def elementwise(self, node: Call, positional: list[Node], keywords: dict[str, Node]) -> Value:
        names = ("x", "base") if node.func == "log" else ("x",)
        self._check_arguments(node, positional, keywords, names)
        x = self.numeric(self._argument(node, positional, keywords, 0, "x"), deparse(node))
        with np.errstate(all="ignore"):
            if node.func != "log":
                return _ELEMENTWISE[node.func](np.asarray(x, dtype=float))
            result = np.log(np.asarray(x, dtype=float))
            base_node = self._argument(node, positional, keywords, 1, "base", False)
            if base_node is not False:
                result = result / np.log(self.numeric(base_node, deparse(node)))  # type: ignore[arg-type]
            return result

    def _literal(self, node: Node | object, node_text: str, what: str) -> object:
        if not isinstance(node, Num | Str | Name | Unary):
            raise FormulaError(f"{node_text!r}: {what} must be a constant")
        value = self(node)  # type: ignore[arg-type]
        if isinstance(value, np.ndarray | Factor):
            raise FormulaError(f"{node_text!r}: {what} must be a constant, not a column")
        return value

    def poly(self, node: Call, positional: list[Node], keywords: dict[str, Node]) -> RMatrix:
        from .rpoly import poly_apply, poly_fit

        self._check_arguments(node, positional, keywords, ("x", "degree", "raw"))
        text = deparse(node)
        x = np.asarray(
            self.numeric(self._argument(node, positional, keywords, 0, "x"), text), dtype=float
        )
        degree_value = self._literal(
            self._argument(node, positional, keywords, 1, "degree", Num(1.0)), text, "degree"
        )
        raw = bool(self._literal(keywords.get("raw", Name("FALSE")), text, "raw"))
        degree = int(degree_value)  # type: ignore[call-overload]
        if degree < 1 or degree != degree_value:
            raise FormulaError(f"{text!r}: degree must be a positive whole number")
        names = tuple(str(power) for power in range(1, degree + 1))
        if raw:
            return RMatrix(np.column_stack([x**power for power in range(1, degree + 1)]), names)
        if self.training:
            self.state[text] = poly_fit(x, degree, text)
        return RMatrix(poly_apply(x, *self.state[text]), names)

    def scale(self, node: Call, positional: list[Node], keywords: dict[str, Node]) -> RMatrix:
        self._check_arguments(node, positional, keywords, ("x", "center", "scale"))
        text = deparse(node)
        x = np.asarray(
            self.numeric(self._argument(node, positional, keywords, 0, "x"), text), dtype=float
        )
        if self.training:
            center = self._literal(keywords.get("center", Name("TRUE")), text, "center")
            spread = self._literal(keywords.get("scale", Name("TRUE")), text, "scale")
            finite = x[~np.isnan(x)]
            shift = float(np.mean(finite)) if center is True else float(center or 0.0)  # type: ignore[arg-type]
            if spread is True:
                centered = finite - shift
                divisor = float(np.sqrt(np.sum(centered**2) / max(len(finite) - 1, 1)))
            else:
                divisor = float(spread) if spread not in (False, 0) else 1.0  # type: ignore[arg-type]
            self.state[text] = (shift, divisor)
        shift, divisor = self.state[text]
        return RMatrix(((x - shift) / divisor)[:, None], None)

    def as_factor(self, value: Value, text: str) -> Factor:
        """``factor(value)`` without arguments (unused levels dropped, as R's ``factor``)."""
        if isinstance(value, Factor):
            return value
        if isinstance(value, RMatrix):
            raise FormulaError(f"{text!r}: a matrix cannot be made a factor")
        array = np.asarray(value)
        if array.dtype == bool:
            return Factor(array.astype(np.int64), ("FALSE", "TRUE")).drop_unused()
        if array.dtype.kind in "iuf":
            return numeric_factor(np.where(np.isnan(array), np.nan, array))
        return character_factor(array)

    def factor(self, node: Call, positional: list[Node], keywords: dict[str, Node]) -> Factor:
        self._check_arguments(node, positional, keywords, ("x",))
        text = deparse(node)
        value = self(self._argument(node, positional, keywords, 0, "x"))  # type: ignore[arg-type]
        result = self.as_factor(value, text)
        if node.func in ("factor", "ordered") and isinstance(value, Factor):
            result = result.drop_unused()
        if node.func in ("ordered", "as.ordered") and not result.ordered:
            result = Factor(result.codes, result.levels, True)
        return result

    def as_numeric(self, node: Call, positional: list[Node], keywords: dict[str, Node]) -> Value:
        self._check_arguments(node, positional, keywords, ("x",))
        value = self(self._argument(node, positional, keywords, 0, "x"))  # type: ignore[arg-type]
        if isinstance(value, Factor):
            return np.where(value.codes >= 0, value.codes + 1.0, np.nan)
        if isinstance(value, RMatrix | str):
            raise FormulaError(f"{deparse(node)!r}: as.numeric() needs a vector or a factor")
        result = np.asarray(value, dtype=float)
        return np.trunc(result) if node.func == "as.integer" else result

    def interaction(self, node: Call, positional: list[Node], keywords: dict[str, Node]) -> Factor:
        text = deparse(node)
        unknown = [name for name in keywords if name != "sep"]
        if unknown or not positional:
            raise FormulaError(f"{text!r}: interaction() takes factors and sep= here")
        separator = str(self._literal(keywords["sep"], text, "sep")) if "sep" in keywords else "."
        factors = [self.as_factor(self(argument), text) for argument in positional]
        codes = np.zeros(self.n_rows, dtype=np.int64)
        stride = 1
        missing = np.zeros(self.n_rows, dtype=bool)
        for factor in factors:  # the first factor varies fastest, as R's interaction()
            codes = codes + np.maximum(factor.codes, 0) * stride
            missing |= factor.codes < 0
            stride *= len(factor.levels)
        levels = _interaction_levels([factor.levels for factor in factors], separator)
        return Factor(np.where(missing, -1, codes), tuple(levels)).drop_unused()

    def dummy(self, node: Call, positional: list[Node], keywords: dict[str, Node]) -> RMatrix:
        self._check_arguments(node, positional, keywords, ("f", "levelsToKeep"))
        text = deparse(node)
        factor = self.as_factor(self(self._argument(node, positional, keywords, 0, "f")), text)  # type: ignore[arg-type]
        keep_node = keywords.get("levelsToKeep", positional[1] if len(positional) > 1 else None)
        if keep_node is None:
            keep = list(factor.levels[1:])
        else:
            literal = self._literal(keep_node, text, "levelsToKeep")
            keep = [r_label(literal)]
        unknown = [label for label in keep if label not in factor.levels]
        if unknown:
            raise FormulaError(f"{text!r}: {unknown} are not levels of the factor")
        columns = [(factor.codes == factor.levels.index(label)).astype(float) for label in keep]
        return RMatrix(np.column_stack(columns), tuple(keep))


def _interaction_levels(levels: list[tuple[str, ...]], separator: str) -> list[str]:
    """Labels of ``interaction()``'s levels: all combinations, the first factor fastest."""
    result = [""]
    for position, factor_levels in enumerate(levels):
        result = [
            label if position == 0 else f"{prefix}{separator}{label}"
            for label in factor_levels
            for prefix in result
        ]
    return result


def variable_columns(name: str, data: Mapping[str, object]) -> object:
    """``data[name]``, raising ``KeyError`` when absent (the evaluator's column lookup)."""
    return data[name]
