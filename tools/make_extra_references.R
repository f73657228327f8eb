# Extra lme4 cross-checks for features the shared references do not cover:
# nesting (a/b), interactions (a:b), prior weights, offsets, factor covariates
# in a random term, three crossed/nested terms. Writes data CSV + fit JSON.
# Usage: Rscript tools/make_extra_references.R tests/reference/extra
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
out <- commandArgs(trailingOnly = TRUE)[1]
dir.create(out, showWarnings = FALSE, recursive = TRUE)
sleep <- lme4::sleepstudy
sleep$w <- 1 + (sleep$Days %% 3) / 2
sleep$off <- sleep$Days * 0.5
cake <- as.data.frame(lme4::cake)
cake$recipe <- factor(cake$recipe, ordered = FALSE)
cake$temperature <- factor(cake$temperature, ordered = FALSE)
sets <- list(Pastes = lme4::Pastes, sleepw = sleep, cake = cake)
# Each CSV with its schema (column kinds, factor levels in R's order), read back in the
# tests by mixedmodels.datasets.read_csv_schema.
schema <- function(d) list(columns = lapply(d, function(x) if (is.factor(x)) "factor" else "numeric"),
                           levels = lapply(Filter(is.factor, d), levels))
for (nm in names(sets)) {
  write.csv(sets[[nm]], file.path(out, paste0(nm, ".csv")), row.names = FALSE)
  writeLines(toJSON(schema(sets[[nm]]), auto_unbox = TRUE, pretty = TRUE),
             file.path(out, paste0(nm, ".schema.json")))
}
cases <- list(
  list(id = "pastes_nested", data = "Pastes", formula = "strength ~ 1 + (1 | batch/cask)", REML = TRUE),
  list(id = "pastes_interaction", data = "Pastes", formula = "strength ~ 1 + (1 | batch) + (1 | batch:cask)", REML = FALSE),
  list(id = "sleep_weights", data = "sleepw", formula = "Reaction ~ Days + (Days | Subject)", REML = TRUE, weights = "w"),
  list(id = "sleep_weights_ml", data = "sleepw", formula = "Reaction ~ Days + (1 | Subject)", REML = FALSE, weights = "w"),
  list(id = "sleep_offset", data = "sleepw", formula = "Reaction ~ Days + (Days | Subject)", REML = TRUE, offset = "off"),
  list(id = "cake_interaction", data = "cake", formula = "angle ~ recipe * temperature + (1 | recipe:replicate)", REML = TRUE),
  list(id = "cake_factor_slope", data = "cake", formula = "angle ~ temperature + (0 + recipe | replicate)", REML = FALSE)
)
for (cs in cases) {
  d <- sets[[cs$data]]
  args <- list(formula = as.formula(cs$formula), data = d, REML = cs$REML)
  if (!is.null(cs$weights)) args$weights <- d[[cs$weights]]
  if (!is.null(cs$offset)) args$offset <- d[[cs$offset]]
  best <- NULL
  fit <- do.call(lmer, args)
  af <- suppressWarnings(allFit(fit, verbose = FALSE))
  ll <- sapply(af, function(f) if (inherits(f, "merMod")) as.numeric(logLik(f)) else -Inf)
  best <- af[[which.max(ll)]]
  vc <- as.data.frame(VarCorr(best))
  res <- list(id = cs$id, dataset = cs$data, formula = cs$formula, REML = cs$REML,
              weights = cs$weights, offset = cs$offset, nobs = nobs(best),
              fixef = as.list(fixef(best)), se = as.list(sqrt(diag(as.matrix(vcov(best))))),
              varcorr = vc, sigma2 = sigma(best)^2, logLik = as.numeric(logLik(best)),
              theta = as.numeric(getME(best, "theta")), singular = isSingular(best))
  writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"),
             file.path(out, paste0(cs$id, ".json")))
  cat(cs$id, res$logLik, "\n")
}
