# Reference output for the "look" tests (issue 12): lme4's printed summary() and
# broom.mixed's tidy() on three fits.
# Usage: Rscript tools/make_look_references.R DATADIR OUTDIR
#   DATADIR holds NAME.csv and NAME.schema.json (e.g. /work/shared/reference/data)
#   OUTDIR  receives CASE_summary_lme4.txt, CASE_summary_lmertest.txt (lme4's default fit),
#           CASE_summary_lme4_optimum.txt, CASE_summary_lmertest_optimum.txt and CASE_tidy.json
#           (the fit polished to the optimum: BOBYQA with rhoend 1e-12 on lme4's devfun,
#           as make_references.R does; lme4's default stopping rule leaves the last printed
#           digit of a few numbers short of the optimum, e.g. sleepstudy's 612.10 vs 612.09)
# Needs lme4, lmerTest, broom.mixed, jsonlite.
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(broom.mixed); library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
datadir <- args[1]
out <- args[2]
dir.create(out, recursive = TRUE, showWarnings = FALSE)

read_data <- function(name) {
  schema <- fromJSON(file.path(datadir, paste0(name, ".schema.json")))
  d <- read.csv(file.path(datadir, paste0(name, ".csv")), stringsAsFactors = FALSE)
  for (v in names(schema$columns)) if (schema$columns[[v]] == "factor") {
    d[[v]] <- factor(as.character(d[[v]]), levels = schema$levels[[v]])
  }
  d
}

cases <- list(
  sleepstudy = list(data = "sleepstudy", formula = "Reaction ~ Days + (Days | Subject)"),
  penicillin = list(data = "Penicillin", formula = "diameter ~ 1 + (1 | plate) + (1 | sample)"),
  dietox = list(data = "dietox", formula = "Weight ~ Time + (Time | Pig)")
)

# The optimum of lme4's own criterion, then lme4 / lmerTest fits evaluated there.
at_optimum <- function(formula, d) {
  devf <- eval(parse(text = sprintf("lme4::lmer(%s, data = d, REML = TRUE, devFunOnly = TRUE)", formula)))
  start <- eval(parse(text = sprintf("lme4::lmer(%s, data = d, REML = TRUE)", formula)))
  theta <- getME(start, "theta")
  polished <- if (length(theta) == 1) {
    optimize(devf, c(0, 10 * theta + 1), tol = 1e-12)$minimum
  } else minqa::bobyqa(theta, devf, lower = getME(start, "lower"),
                       control = list(rhoend = 1e-12, maxfun = 1e5))$par
  fixed_control <- "control = lmerControl(optimizer = NULL, calc.derivs = FALSE), start = list(theta = polished)"
  list(
    plain = eval(parse(text = sprintf("lme4::lmer(%s, data = d, REML = TRUE, %s)", formula, fixed_control))),
    tested = eval(parse(text = sprintf("lmerTest::lmer(%s, data = d, REML = TRUE, %s)", formula, fixed_control))),
    # profile() needs an optimizer: the default one, started at the optimum
    restarted = eval(parse(text = sprintf("lmerTest::lmer(%s, data = d, REML = TRUE, start = list(theta = polished))", formula)))
  )
}

tidy_table <- function(m, effects, ...) {
  t <- as.data.frame(tidy(m, effects = effects, conf.int = TRUE, ...))
  t
}

for (id in names(cases)) {
  case <- cases[[id]]
  d <- read_data(case$data)
  # Built from text so that the printed call shows the formula, not a variable name.
  plain <- eval(parse(text = sprintf("lme4::lmer(%s, data = d, REML = TRUE)", case$formula)))
  tested <- eval(parse(text = sprintf("lmerTest::lmer(%s, data = d, REML = TRUE)", case$formula)))
  writeLines(capture.output(print(summary(plain))), file.path(out, paste0(id, "_summary_lme4.txt")))
  writeLines(capture.output(print(summary(tested))), file.path(out, paste0(id, "_summary_lmertest.txt")))
  optimum <- at_optimum(case$formula, d)
  plain <- optimum$plain
  tested <- optimum$tested
  writeLines(capture.output(print(summary(plain))), file.path(out, paste0(id, "_summary_lme4_optimum.txt")))
  writeLines(capture.output(print(summary(tested))), file.path(out, paste0(id, "_summary_lmertest_optimum.txt")))
  result <- list(
    formula = case$formula,
    data = case$data,
    theta = unname(getME(plain, "theta")),
    logLik = as.numeric(logLik(plain)),
    fixed = tidy_table(tested, "fixed"),
    ran_pars = tidy_table(tested, "ran_pars"),
    ran_pars_profile = tidy_table(optimum$restarted, "ran_pars", conf.method = "profile"),
    ran_vals = tidy_table(tested, "ran_vals"),
    versions = list(lme4 = as.character(packageVersion("lme4")),
                    broom.mixed = as.character(packageVersion("broom.mixed")),
                    lmerTest = as.character(packageVersion("lmerTest")))
  )
  writeLines(toJSON(result, digits = NA, pretty = TRUE, na = "null"),
             file.path(out, paste0(id, "_tidy.json")))
}
