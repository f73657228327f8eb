# lmerTest's summary (Satterthwaite df) on InstEval, ML; timings in seconds as JSON on stdout.
suppressMessages({library(lmerTest); library(jsonlite)})
data("InstEval", package = "lme4")
fit_time <- system.time(
  m <- lmerTest::lmer(y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept), InstEval, REML = FALSE)
)[["elapsed"]]
# lmerTest's lmer computes the Hessian and Jacobian inside the fit (as_lmerModLmerTest);
# time that step alone and the summary that uses them.
plain <- lme4::lmer(y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept), InstEval, REML = FALSE)
plain_time <- system.time(
  plain <- lme4::lmer(y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept), InstEval, REML = FALSE)
)[["elapsed"]]
coerce_time <- system.time(mt <- as_lmerModLmerTest(plain))[["elapsed"]]
summary_time <- system.time(s <- summary(m))[["elapsed"]]
cat(toJSON(list(
  lmerTest_lmer_seconds = fit_time, lme4_lmer_seconds = plain_time,
  as_lmerModLmerTest_seconds = coerce_time, summary_seconds = summary_time,
  df = unname(coef(s)[, "df"])
), auto_unbox = TRUE, digits = NA))
