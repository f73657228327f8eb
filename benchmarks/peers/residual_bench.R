# Residual-structure benchmark, R side: nlme::lme and glmmTMB on the issue-10 cases.
# Usage: Rscript residual_bench.R DATA_DIR REPS BUDGET_S  -> JSON on stdout.
# Each fit is timed with Sys.time(); the minimum over repetitions is reported (the
# first is a warm-up), stopping once BUDGET_S seconds were spent on one (case, peer).
suppressPackageStartupMessages({library(nlme); library(glmmTMB); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; reps <- as.integer(args[2]); budget <- as.numeric(args[3])
load_data <- function(name) {
  d <- read.csv(file.path(dir, paste0(name, ".csv")), stringsAsFactors = FALSE)
  sch <- fromJSON(file.path(dir, paste0(name, ".schema.json")))
  for (v in names(sch$levels)) d[[v]] <- factor(as.character(d[[v]]), levels = sch$levels[[v]])
  d
}
D <- list(Ovary = load_data("Ovary"), BodyWeight = load_data("BodyWeight"),
          Dialyzer = load_data("Dialyzer"), sleepstudy = load_data("sleepstudy"))
D$Ovary$pos <- factor(ave(seq_len(nrow(D$Ovary)), D$Ovary$Mare, FUN = seq_along))
D$sleepstudy$fDays <- factor(D$sleepstudy$Days)
D$BodyWeight$times <- glmmTMB::numFactor(D$BodyWeight$Time)
ctrl <- lmeControl(maxIter = 500, msMaxIter = 500, msMaxEval = 2000, niterEM = 25, apVar = FALSE)
cases <- list(
  ovary_ar1 = list(d = "Ovary",
    nlme = quote(lme(follicles ~ sin(2 * pi * Time) + cos(2 * pi * Time), random = ~ 1 | Mare,
                     correlation = corAR1(), data = d, method = M, control = ctrl)),
    tmb = quote(glmmTMB(follicles ~ sin(2 * pi * Time) + cos(2 * pi * Time) + (1 | Mare) + ar1(pos + 0 | Mare),
                        dispformula = ~ 0, data = d, REML = R))),
  sleepstudy_ar1 = list(d = "sleepstudy",
    nlme = quote(lme(Reaction ~ Days, random = ~ 1 | Subject, correlation = corAR1(form = ~ Days | Subject),
                     data = d, method = M, control = ctrl)),
    tmb = quote(glmmTMB(Reaction ~ Days + (1 | Subject) + ar1(fDays + 0 | Subject), dispformula = ~ 0,
                        data = d, REML = R))),
  bodyweight_car1 = list(d = "BodyWeight",
    nlme = quote(lme(weight ~ Time * Diet, random = ~ Time | Rat, correlation = corCAR1(form = ~ Time | Rat),
                     data = d, method = M, control = ctrl)),
    tmb = quote(glmmTMB(weight ~ Time * Diet + (Time | Rat) + ou(times + 0 | Rat), dispformula = ~ 0,
                        data = d, REML = R))),
  dialyzer_varident = list(d = "Dialyzer",
    nlme = quote(lme(rate ~ pressure * QB, random = ~ pressure | Subject, weights = varIdent(form = ~ 1 | QB),
                     data = d, method = M, control = ctrl)),
    tmb = quote(glmmTMB(rate ~ pressure * QB + (pressure | Subject), dispformula = ~ QB, data = d, REML = R))),
  dialyzer_quad_varident = list(d = "Dialyzer",
    nlme = quote(lme(rate ~ (pressure + I(pressure^2)) * QB, random = ~ pressure | Subject,
                     weights = varIdent(form = ~ 1 | QB), data = d, method = M, control = ctrl)),
    tmb = quote(glmmTMB(rate ~ (pressure + I(pressure^2)) * QB + (pressure | Subject), dispformula = ~ QB,
                        data = d, REML = R))),
  bodyweight_varident = list(d = "BodyWeight",
    nlme = quote(lme(weight ~ Time * Diet, random = ~ Time | Rat, weights = varIdent(form = ~ 1 | Diet),
                     data = d, method = M, control = ctrl)),
    tmb = quote(glmmTMB(weight ~ Time * Diet + (Time | Rat), dispformula = ~ Diet, data = d, REML = R))),
  sleepstudy_plain_lme = list(d = "sleepstudy",
    nlme = quote(lme(Reaction ~ Days, random = ~ Days | Subject, data = d, method = M, control = ctrl)),
    tmb = quote(glmmTMB(Reaction ~ Days + (Days | Subject), data = d, REML = R))))
time_fit <- function(expr, env) {
  times <- c(); fit <- NULL; spent <- 0
  for (i in seq_len(reps)) {
    gc(); t0 <- Sys.time()
    fit <- tryCatch(suppressWarnings(eval(expr, env)), error = function(e) e)
    el <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
    if (inherits(fit, "error")) return(list(error = conditionMessage(fit)))
    times <- c(times, el); spent <- spent + el
    if (spent > budget && i >= 2) break
  }
  list(seconds = min(times), seconds_all = times, logLik = as.numeric(logLik(fit)))
}
out <- list()
for (id in names(cases)) for (REML in c(TRUE, FALSE)) {
  cs <- cases[[id]]
  env <- new.env(); env$d <- D[[cs$d]]; env$M <- if (REML) "REML" else "ML"; env$R <- REML; env$ctrl <- ctrl
  key <- paste0(id, if (REML) "-REML" else "-ML")
  out[[key]] <- list(nlme = time_fit(cs$nlme, env), glmmTMB = time_fit(cs$tmb, env))
  message(key, " done")
}
out$versions <- list(R = R.version.string, nlme = as.character(packageVersion("nlme")),
                     glmmTMB = as.character(packageVersion("glmmTMB")))
cat(toJSON(out, auto_unbox = TRUE, digits = NA))
