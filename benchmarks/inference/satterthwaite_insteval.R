# lmerTest's Satterthwaite on InstEval (ML): seconds as JSON on stdout.
# lmerTest's lmer() fits with lme4 and then computes the variance-parameter Hessian and
# the Jacobian of vcov(beta) (as_lmerModLmerTest); its summary() then only builds the
# table. Both steps are timed, next to lme4's fit.
suppressMessages({library(lmerTest); library(jsonlite)})
data("InstEval", package = "lme4")
fit_time <- system.time(
  plain <- lme4::lmer(y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept), InstEval, REML = FALSE)
)[["elapsed"]]
coerce_time <- system.time(m <- as_lmerModLmerTest(plain))[["elapsed"]]
summary_time <- system.time(s <- summary(m))[["elapsed"]]
cat(toJSON(list(
  lme4_fit_seconds = fit_time, as_lmerModLmerTest_seconds = coerce_time,
  summary_seconds = summary_time, df = unname(coef(s)[, "df"])
), auto_unbox = TRUE, digits = NA))
