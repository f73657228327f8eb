# Parametric bootstrap reference: lme4's bootMer on sleepstudy (Days | Subject).
#
#   Rscript tools/make_bootstrap_reference.R tests/reference/bootstrap/sleepstudy_bootmer.json
#
# 2,000 replicates (type = "parametric", use.u = FALSE, the default), REML as lmer's
# default. Stores the replicate SDs of the fixed effects (and of sigma and the
# random-effect SDs), their Monte Carlo standard errors, and the elapsed time per
# replicate (one run, on whatever load the machine had; the benchmarks repeat it).
suppressMessages({library(lme4); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "sleepstudy_bootmer.json"
nsim <- 2000L
m <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy)
stat <- function(fit) {
  vc <- as.data.frame(VarCorr(fit))
  c(fixef(fit), sd_intercept = vc$sdcor[1], sd_days = vc$sdcor[2], cor = vc$sdcor[3],
    sigma = sigma(fit))
}
elapsed <- system.time(b <- bootMer(m, stat, nsim = nsim, seed = 20261130))[["elapsed"]]
ok <- stats::complete.cases(b$t)
t <- b$t[ok, , drop = FALSE]
colnames(t) <- names(stat(m))
sds <- apply(t, 2, sd)
# Monte Carlo SE of a sample SD: sd * sqrt((kurtosis - 1) / (4 n)) (delta method).
kurt <- apply(t, 2, function(x) mean((x - mean(x))^4) / var(x)^2)
mcse <- sds * sqrt((kurt - 1) / (4 * nrow(t)))
res <- list(
  formula = "Reaction ~ Days + (Days | Subject)", REML = TRUE, nsim = nsim,
  n_ok = nrow(t), seed = 20261130,
  sd = as.list(sds), mc_se = as.list(mcse), mean = as.list(colMeans(t)),
  estimate = as.list(stat(m)),
  seconds_total = elapsed, seconds_per_replicate = elapsed / nsim,
  versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")))
)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE), out)
