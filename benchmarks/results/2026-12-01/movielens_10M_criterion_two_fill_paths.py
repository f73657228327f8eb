"""ML-10M: the criterion at the fit's (rounded) optimum, through the compiled fill kernel and through
the pure numpy/scipy sparse tail (MIXEDMODELS_NO_NUMBA=1), each in its own process."""
import json, os, sys, time
sys.path.insert(0, "/work/main/benchmarks")
import numpy as np
import movielens
import mixedmodels as mm
theta = np.array([0.443667, 0.5558321])
frame = movielens.make_frame("10M")
t0 = time.process_time()
model = mm.LinearMixedModel.from_formula(movielens.FORMULA, frame, REML=False)
value = float(model.objective(theta))
print(json.dumps({"no_numba": bool(os.environ.get("MIXEDMODELS_NO_NUMBA")), "objective": repr(value),
                  "loglik": -value / 2, "cpu": time.process_time() - t0}), flush=True)
