# lme4's side of the coverage study (bootstrap_coverage.py): bootMer percentile intervals
# of the slope on the SAME simulated data sets as ours.
#
#   python benchmarks/inference/bootstrap_coverage.py --export-responses /tmp/responses.csv
#   Rscript benchmarks/inference/bootstrap_coverage_lme4.R /tmp/responses.csv out.csv \
#       [replicates=200] [first=1] [last=400]
#
# The CSV holds Subject, Days and one column per simulated response (sim_1, ...), drawn
# by fit$simulate from the REML fit of Reaction ~ Days + (Days | Subject) to sleepstudy
# (the truth). For each data set: the REML fit, bootMer(fit, fixef, nsim, seed = 1000 + i)
# (parametric, use.u = FALSE, refits by REML: bootMer's defaults, as confint(method =
# "boot")), and the 2.5/97.5% percentile endpoints of the slope two ways: boot.ci's "perc"
# (what lme4's confint(method = "boot") reports) and quantile(type = 7) (linear
# interpolation, what mixedmodels' confint reports). One line is appended per data set,
# so a partial run is usable (the data sets are exchangeable).
suppressMessages({library(lme4); library(boot)})
args <- commandArgs(trailingOnly = TRUE)
input <- args[1]; output <- args[2]
nsim <- if (length(args) >= 3) as.integer(args[3]) else 200L
first <- if (length(args) >= 4) as.integer(args[4]) else 1L
d <- read.csv(input)
d$Subject <- factor(d$Subject)
sims <- grep("^sim_", names(d), value = TRUE)
last <- if (length(args) >= 5) as.integer(args[5]) else length(sims)
header <- !file.exists(output)
for (i in first:last) {
  d$Reaction <- d[[sims[i]]]
  fit <- lmer(Reaction ~ Days + (Days | Subject), d, REML = TRUE)
  tick <- proc.time()[["elapsed"]]
  b <- suppressWarnings(suppressMessages(bootMer(fit, fixef, nsim = nsim, seed = 1000 + i)))
  seconds <- proc.time()[["elapsed"]] - tick
  slope <- b$t[, 2]
  slope <- slope[is.finite(slope)]
  perc <- boot.ci(b, type = "perc", index = 2)$percent[4:5]
  q7 <- quantile(slope, c(0.025, 0.975), type = 7, names = FALSE)
  row <- data.frame(
    dataset = i, estimate = fixef(fit)[["Days"]],
    se = sqrt(diag(as.matrix(vcov(fit))))[2],
    sd_days = as.data.frame(VarCorr(fit))$sdcor[2],
    boot_sd = sd(slope), n_ok = length(slope),
    lower_perc = perc[1], upper_perc = perc[2], lower_q7 = q7[1], upper_q7 = q7[2],
    seconds = seconds, boot_fail = attr(b, "bootFail"),
    n_messages = sum(sapply(attr(b, "boot.all.msgs"), function(m) sum(unlist(m))))
  )
  write.table(row, output, sep = ",", append = !header, col.names = header, row.names = FALSE)
  header <- FALSE
}
