# The two hard cases of issue 8 that ../shared/reference/hard/ does not hold: Wafer with a
# quadratic term, and sleepstudy with a factor inside a double-bar term. Same recipe as the
# shared hard cases: lme4's best over the default fit and allFit, polished by BOBYQA on the
# deviance function (rhoend 1e-12). Writes data CSV, levels JSON and case JSON.
# Usage: Rscript tools/make_hard_references.R tests/reference/hard
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
out <- commandArgs(trailingOnly = TRUE)[1]
dir.create(file.path(out, "data"), showWarnings = FALSE, recursive = TRUE)
wafer <- read.csv(file.path(out, "data", "Wafer.csv"), colClasses = c(Wafer = "character", Site = "character"))
wafer$Wafer <- factor(wafer$Wafer, levels = as.character(1:10))
wafer$Site <- factor(wafer$Site, levels = as.character(1:8))
sleep <- lme4::sleepstudy
sleep$late <- factor(ifelse(sleep$Days > 4, "yes", "no"), levels = c("no", "yes"))
write.csv(sleep, file.path(out, "data", "sleeplate.csv"), row.names = FALSE)
writeLines(toJSON(list(factors = list(Subject = levels(sleep$Subject), late = levels(sleep$late))),
                  pretty = TRUE), file.path(out, "data", "sleeplate.levels.json"))
cases <- list(
  list(id = "wafer_quadratic_reml", dataset = "Wafer", data = wafer,
       formula = "current ~ voltage + I(voltage^2) + (voltage|Wafer) + (1|Wafer:Site)", REML = TRUE),
  list(id = "sleepstudy_late_factor_reml", dataset = "sleeplate", data = sleep,
       formula = "Reaction ~ Days + (Days + late || Subject)", REML = TRUE)
)
for (cs in cases) {
  d <- cs$data
  objv <- function(f) if (cs$REML) f@devcomp$cmp[["REML"]] else f@devcomp$cmp[["dev"]]
  warns <- character(0)
  m <- withCallingHandlers(lmer(as.formula(cs$formula), data = d, REML = cs$REML),
                           warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  msgs <- m@optinfo$conv$lme4$messages
  best <- m; bestobj <- objv(m); from <- "default"
  af <- suppressWarnings(suppressMessages(allFit(m, verbose = FALSE)))
  for (nm in names(af)) { f <- af[[nm]]; if (inherits(f, "merMod")) {
    ob <- objv(f); if (is.finite(ob) && ob < bestobj - 1e-8) { bestobj <- ob; best <- f; from <- nm } } }
  devf <- lmer(as.formula(cs$formula), data = d, REML = cs$REML, devFunOnly = TRUE)
  o <- minqa::bobyqa(getME(best, "theta"), devf, lower = getME(best, "lower"),
                     control = list(rhoend = 1e-12, maxfun = 1e5))
  if (o$fval < bestobj - 1e-12) {
    best <- lmer(as.formula(cs$formula), data = d, REML = cs$REML, start = list(theta = o$par),
                 control = lmerControl(optimizer = NULL, calc.derivs = FALSE))
    bestobj <- o$fval; from <- paste0("polish_bobyqa after ", from)
  }
  res <- list(id = cs$id, dataset = cs$dataset, source = "issue 8", formula = cs$formula,
              REML = cs$REML, logLik = as.numeric(logLik(best)), objective = bestobj,
              default_logLik = as.numeric(logLik(m)),
              fixef = as.list(fixef(best)), se = as.list(sqrt(diag(as.matrix(vcov(best))))),
              varcorr = as.data.frame(VarCorr(best)), theta = unname(getME(best, "theta")),
              lme4_best_optimizer = from, lme4_default_warnings = c(warns, msgs))
  writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"),
             file.path(out, paste0(cs$id, ".json")))
  cat(cs$id, res$logLik, res$default_logLik, from, "\n")
}
