# lme4 formula-language reference table (issue 13).
#
# Writes the data sets as CSV + schema (column types, factor levels in R's
# order, ordered flag) to <out>/data, reads them back through the schema, and
# fits every (formula, data set) case below with lme4 1.1-31 on the data as
# read back, so the references are computed on exactly the values the Python
# tests load. Each case's JSON holds logLik, fixed effects with lme4's names,
# as.data.frame(VarCorr), sigma^2, theta and, for some cases, predictions on
# new data (re.form NULL and NA).
#
# Usage: Rscript tools/make_formula_references.R tests/reference/formula
suppressPackageStartupMessages({
  library(lme4); library(nlme); library(MASS); library(jsonlite)
})
out <- commandArgs(trailingOnly = TRUE)[1]
data_dir <- file.path(out, "data")
dir.create(data_dir, showWarnings = FALSE, recursive = TRUE)
stopifnot(packageVersion("lme4") == "1.1.31")

plain <- function(d) { d <- as.data.frame(d); attr(d, "formula") <- NULL; d }
sleep <- plain(lme4::sleepstudy)
sleep$late <- as.numeric(sleep$Days >= 5)
sleep[["sleep days"]] <- sleep$Days
data("Salamanders", package = "glmmTMB")
sets <- list(
  sleepstudy = sleep,
  Pixel = plain(nlme::Pixel), Glucose2 = plain(nlme::Glucose2), Milk = plain(nlme::Milk),
  PBG = plain(nlme::PBG), CO2 = plain(datasets::CO2), Wafer = plain(nlme::Wafer),
  Orthodont = plain(nlme::Orthodont), RatPupWeight = plain(nlme::RatPupWeight),
  BodyWeight = plain(nlme::BodyWeight), Machines = plain(nlme::Machines),
  Oats = plain(nlme::Oats), ergoStool = plain(nlme::ergoStool), Alfalfa = plain(nlme::Alfalfa),
  Rabbit = plain(MASS::Rabbit), Salamanders = plain(Salamanders),
  Arabidopsis = plain(lme4::Arabidopsis), cake = plain(lme4::cake), Pastes = plain(lme4::Pastes)
)

column_schema <- function(x) {
  if (is.factor(x)) list(type = if (is.ordered(x)) "ordered" else "factor", levels = levels(x))
  else if (is.integer(x)) list(type = "integer")
  else if (is.numeric(x)) list(type = "numeric")
  else stop("unsupported column type")
}
read_back <- function(name) {
  schema <- fromJSON(file.path(data_dir, paste0(name, ".schema.json")), simplifyVector = FALSE)
  d <- read.csv(file.path(data_dir, paste0(name, ".csv")), check.names = FALSE,
                colClasses = "character")
  for (col in names(schema$columns)) {
    s <- schema$columns[[col]]
    d[[col]] <- switch(s$type,
      factor = factor(d[[col]], levels = unlist(s$levels)),
      ordered = factor(d[[col]], levels = unlist(s$levels), ordered = TRUE),
      integer = as.integer(d[[col]]), numeric = as.numeric(d[[col]]))
  }
  d
}
data <- list()
for (nm in names(sets)) {
  d <- sets[[nm]]
  write.csv(d, file.path(data_dir, paste0(nm, ".csv")), row.names = FALSE)
  schema <- list(name = nm, columns = lapply(d, column_schema))
  writeLines(toJSON(schema, auto_unbox = TRUE, pretty = TRUE),
             file.path(data_dir, paste0(nm, ".schema.json")))
  data[[nm]] <- read_back(nm)
}

case <- function(id, dataset, formula, REML = TRUE, contrasts = NULL, newdata = NULL,
                 constructs = character()) {
  list(id = id, dataset = dataset, formula = formula, REML = REML, contrasts = contrasts,
       newdata = newdata, constructs = constructs)
}
shift <- function(dataset, rows, column, by) function() {
  d <- data[[dataset]][rows, , drop = FALSE]; d[[column]] <- d[[column]] + by; d
}
cases <- list(
  case("sleep_I_pow", "sleepstudy", "Reaction ~ Days + I(Days^2) + (1 | Subject)", FALSE, constructs = "I^"),
  case("sleep_I_pow_slope", "sleepstudy", "Reaction ~ Days + I(Days^2) + (Days + I(Days^2) | Subject)", constructs = "I^"),
  case("sleep_dblbar_interaction", "sleepstudy", "Reaction ~ Days * late + (Days * late || Subject)", constructs = c("||", "*")),
  case("sleep_dblbar", "sleepstudy", "Reaction ~ Days + (Days || Subject)", FALSE, constructs = "||"),
  case("sleep_scale_only", "sleepstudy", "Reaction ~ scale(Days) + (1 | Subject)",
       newdata = shift("sleepstudy", c(1, 12, 25), "Days", 0.5), constructs = "scale"),
  case("sleep_poly_only", "sleepstudy", "Reaction ~ poly(Days, 2) + (1 | Subject)",
       newdata = shift("sleepstudy", c(3, 40, 77), "Days", 0.25), constructs = "poly"),
  case("sleep_poly_raw", "sleepstudy", "Reaction ~ poly(Days, 3, raw = TRUE) + (1 | Subject)", FALSE, constructs = "poly_raw"),
  case("sleep_factor_days", "sleepstudy", "Reaction ~ factor(Days) + (1 | Subject)", constructs = "factor"),
  case("sleep_as_factor", "sleepstudy", "Reaction ~ as.factor(late) + Days + (1 | Subject)", FALSE, constructs = "as.factor"),
  case("sleep_offset", "sleepstudy", "Reaction ~ Days + offset(2 * Days) + (Days | Subject)", constructs = "offset"),
  case("sleep_log_log1p", "sleepstudy", "log(Reaction) ~ log1p(Days) + (1 | Subject)", constructs = c("log", "log1p")),
  case("sleep_sqrt", "sleepstudy", "sqrt(Reaction) ~ sqrt(Days) + (sqrt(Days) | Subject)", FALSE, constructs = "sqrt"),
  case("sleep_trig", "sleepstudy", "Reaction ~ sin(pi * Days / 9) + cos(pi * Days / 9) + (1 | Subject)", constructs = c("sin", "cos", "pi")),
  case("sleep_exp_abs", "sleepstudy", "Reaction ~ exp(-Days / 5) + abs(Days - 4.5) + (1 | Subject)", constructs = c("exp", "abs")),
  case("sleep_minus_one", "sleepstudy", "Reaction ~ Days - 1 + (Days | Subject)", FALSE, constructs = "-1"),
  case("sleep_backquote", "sleepstudy", "Reaction ~ `sleep days` + (`sleep days` | Subject)", constructs = "backquote"),
  case("pixel_I_pow", "Pixel", "pixel ~ day + I(day^2) + (day | Dog) + (1 | Side:Dog)", constructs = c("I^", ":")),
  case("pixel_side", "Pixel", "pixel ~ day + I(day^2) + Side + (day | Dog) + (1 | Dog:Side)", FALSE, constructs = "I^"),
  case("pixel_poly_nested", "Pixel", "pixel ~ poly(day, 2) + (1 | Dog/Side)", constructs = c("poly", "/")),
  case("glucose_poly3", "Glucose2", "glucose ~ poly(Time, 3) + (1 | Subject) + (1 | Subject:Date)",
       newdata = function() { d <- data$Glucose2[c(1, 50, 120, 190), ]; d$Time <- d$Time + 0.3; d }, constructs = "poly"),
  case("glucose_poly_slope", "Glucose2", "glucose ~ poly(Time, 2) + (1 + Time | Subject)", FALSE, constructs = "poly"),
  case("glucose_trig", "Glucose2", "glucose ~ Date + sin(Time) + cos(Time) + (1 | Subject)", constructs = c("sin", "cos")),
  case("milk_poly_raw", "Milk", "protein ~ Diet + poly(Time, 2, raw = TRUE) + (1 | Cow)",
       newdata = shift("Milk", c(1, 400, 900), "Time", 0.5), constructs = "poly_raw"),
  case("milk_square", "Milk", "protein ~ (Diet + Time + I(Time^2))^2 + (1 | Cow)", FALSE, constructs = c("^", "I^")),
  case("milk_slash", "Milk", "protein ~ Diet/Time + (Time | Cow)", constructs = "/"),
  case("milk_helmert", "Milk", "protein ~ Diet * Time + (1 | Cow)", contrasts = list(Diet = "contr.helmert"), constructs = "contr.helmert"),
  case("pbg_treatment", "PBG", "deltaBP ~ log(dose) * Treatment + (1 | Rabbit)", constructs = c("Treatment_column", "log")),
  case("pbg_treatment_slope", "PBG", "deltaBP ~ Treatment + log(dose) + (log(dose) | Rabbit)", FALSE, constructs = "Treatment_column"),
  case("pbg_nested", "PBG", "deltaBP ~ Treatment * log(dose) + (1 | Rabbit/Run)", constructs = c("Treatment_column", "/")),
  case("co2_type_treatment", "CO2", "uptake ~ Type * Treatment + log(conc) + (1 | Plant)",
       newdata = function() data$CO2[c(1, 30, 60, 84), ], constructs = c("Treatment_column", "*")),
  case("co2_minus_term", "CO2", "uptake ~ Type * Treatment - Type:Treatment + log(conc) + (log(conc) | Plant)", constructs = "-term"),
  case("co2_sum", "CO2", "uptake ~ Type * Treatment + log(conc) + (1 | Plant)", FALSE,
       contrasts = list(Type = "contr.sum", Treatment = "contr.sum"), constructs = "contr.sum"),
  case("co2_zero_plus", "CO2", "uptake ~ 0 + Type + Treatment + log(conc) + (1 | Plant)", constructs = "0+"),
  case("co2_factor_conc", "CO2", "uptake ~ Type + factor(conc) + (1 | Plant)", FALSE,
       newdata = function() data$CO2[c(2, 9, 50), ], constructs = "factor"),
  case("wafer_I_pow", "Wafer", "current ~ voltage + I(voltage^2) + (voltage | Wafer)", constructs = "I^"),
  case("wafer_site", "Wafer", "current ~ voltage + I(voltage^2) + (1 | Wafer/Site)", FALSE, constructs = c("I^", "/")),
  case("wafer_poly", "Wafer", "current ~ poly(voltage, 3) + (1 | Wafer)", constructs = "poly"),
  case("sal_log1p", "Salamanders", "log1p(count) ~ mined + spp + (1 | site)", constructs = "log1p"),
  case("sal_square", "Salamanders", "log1p(count) ~ (mined + cover + Wtemp)^2 + (1 | site)", FALSE, constructs = "^"),
  case("sal_interaction_group", "Salamanders", "log1p(count) ~ mined + spp + (1 | site) + (1 | interaction(spp, mined))", constructs = "interaction"),
  case("sal_scale", "Salamanders", "log1p(count) ~ spp + scale(cover) + scale(Wtemp) + (1 | site)", constructs = "scale"),
  case("sal_dblbar", "Salamanders", "log1p(count) ~ mined + cover + (cover || site)", FALSE, constructs = "||"),
  case("ortho_sex", "Orthodont", "distance ~ age * Sex + (age | Subject)", constructs = "*"),
  case("ortho_sum", "Orthodont", "distance ~ age * Sex + (age | Subject)", FALSE,
       contrasts = list(Sex = "contr.sum"), newdata = shift("Orthodont", c(1, 50, 100), "age", 1), constructs = "contr.sum"),
  case("ortho_in", "Orthodont", "distance ~ age %in% Sex + (1 | Subject)", constructs = "%in%"),
  case("ortho_centered", "Orthodont", "distance ~ I(age - 11) * Sex + (I(age - 11) | Subject)", FALSE, constructs = "I"),
  case("ratpup_ordered", "RatPupWeight", "weight ~ sex + Lsize + Treatment + (1 | Litter)", constructs = c("contr.poly", "Treatment_column")),
  case("ratpup_as_numeric", "RatPupWeight", "weight ~ sex + Lsize + as.numeric(Treatment) + (1 | Litter)", FALSE, constructs = "as.numeric"),
  case("ratpup_treatment_contrast", "RatPupWeight", "weight ~ sex * Treatment + Lsize + (1 | Litter)",
       contrasts = list(Treatment = "contr.treatment"), constructs = c("contr.treatment", "Treatment_column")),
  case("rabbit_sqrt", "Rabbit", "BPchange ~ sqrt(Dose) * Treatment + (1 | Animal)", constructs = c("sqrt", "Treatment_column")),
  case("rabbit_log_nested", "Rabbit", "BPchange ~ Treatment + log(Dose) + (1 | Animal) + (1 | Animal:Treatment)", FALSE, constructs = c("log", ":")),
  case("bw_time_diet", "BodyWeight", "weight ~ Time * Diet + (Time | Rat)",
       newdata = function() { d <- data$BodyWeight[c(1, 60, 170), ]; d$Time <- d$Time + 3; d }, constructs = "*"),
  case("bw_helmert", "BodyWeight", "weight ~ Time * Diet + (Time | Rat)", FALSE, contrasts = list(Diet = "contr.helmert"), constructs = "contr.helmert"),
  case("bw_as_numeric", "BodyWeight", "weight ~ Time + as.numeric(Diet) + (1 | Rat)", constructs = "as.numeric"),
  case("bw_zero_interaction", "BodyWeight", "weight ~ 0 + Diet + Time:Diet + (Time || Rat)", FALSE, constructs = c("0+", ":", "||")),
  case("bw_minus_one", "BodyWeight", "weight ~ Diet + Time - 1 + (1 | Rat)", constructs = "-1"),
  case("cake_ordered", "cake", "angle ~ recipe * temperature + (1 | recipe:replicate)",
       newdata = function() data$cake[c(1, 100, 200), ], constructs = "contr.poly"),
  case("cake_poly_temp", "cake", "angle ~ recipe + poly(temp, 2) + (1 | replicate)", FALSE, constructs = "poly"),
  case("cake_dblbar_factor", "cake", "angle ~ temperature + (recipe || replicate)", constructs = c("||", "contr.poly")),
  case("pastes_interaction", "Pastes", "strength ~ cask + (1 | batch) + (1 | interaction(batch, cask))", constructs = "interaction"),
  case("arab_dotted", "Arabidopsis", "log1p(total.fruits) ~ factor(nutrient) + amd + (1 | popu) + (1 | gen)", constructs = c("dotted", "factor")),
  case("arab_dotted_numeric", "Arabidopsis", "log1p(total.fruits) ~ nutrient * amd + status + (1 | gen) + (1 | rack)", FALSE, constructs = "dotted"),
  case("machines_dummy", "Machines", "score ~ Machine + (1 | Worker) + (0 + dummy(Machine, \"B\") | Worker)", constructs = "dummy"),
  case("machines_interaction", "Machines", "score ~ Machine + (1 | Worker) + (1 | interaction(Worker, Machine))", FALSE, constructs = "interaction"),
  case("oats_nested", "Oats", "yield ~ nitro * Variety + (1 | Block/Variety)", constructs = c("*", "/")),
  case("oats_poly_only", "Oats", "yield ~ poly(nitro, 2) + Variety + (1 | Block)", FALSE, constructs = "poly"),
  case("alfalfa_splitplot", "Alfalfa", "Yield ~ Date * Variety + (1 | Block/Variety)", constructs = c("*", "/")),
  case("ergo_helmert", "ergoStool", "effort ~ Type + (1 | Subject)", contrasts = list(Type = "contr.helmert"), constructs = "contr.helmert"),
  case("ergo_sum", "ergoStool", "effort ~ Type + (1 | Subject)", FALSE, contrasts = list(Type = "contr.sum"), constructs = "contr.sum")
)

best_fit <- function(fit) {
  # lme4's default optimiser, then bobyqa and Nelder-Mead from the same start: keep the best.
  best <- fit
  for (opt in c("bobyqa", "Nelder_Mead")) {
    other <- tryCatch(suppressWarnings(suppressMessages(
      update(fit, control = lmerControl(optimizer = opt, optCtrl = list(maxfun = 1e5))))),
      error = function(e) NULL)
    if (!is.null(other) && as.numeric(logLik(other)) > as.numeric(logLik(best)) + 1e-8) best <- other
  }
  best
}
predictions <- function(fit, newdata) {
  nd <- newdata()
  list(newdata = nd,
       re_form_null = as.numeric(predict(fit, newdata = nd, allow.new.levels = TRUE)),
       re_form_na = as.numeric(predict(fit, newdata = nd, re.form = NA)))
}
force <- nzchar(Sys.getenv("FORCE"))
for (cs in cases) {
  target <- file.path(out, paste0(cs$id, ".json"))
  if (file.exists(target) && !force) next
  d <- data[[cs$dataset]]
  fit <- suppressWarnings(suppressMessages(lmer(as.formula(cs$formula), data = d, REML = cs$REML,
                                               contrasts = cs$contrasts)))
  fit <- best_fit(fit)
  res <- list(id = cs$id, dataset = cs$dataset, formula = cs$formula, REML = cs$REML,
              contrasts = cs$contrasts, constructs = cs$constructs, nobs = nobs(fit),
              fixef = as.list(fixef(fit)), se = as.list(sqrt(diag(as.matrix(vcov(fit))))),
              varcorr = as.data.frame(VarCorr(fit)), sigma2 = sigma(fit)^2,
              logLik = as.numeric(logLik(fit)), theta = as.numeric(getME(fit, "theta")),
              singular = isSingular(fit), lme4 = as.character(packageVersion("lme4")))
  if (!is.null(cs$newdata)) res$predict <- predictions(fit, cs$newdata)
  writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"),
             target)
  cat(sprintf("%-28s %14.6f %s\n", cs$id, res$logLik, paste(names(res$fixef), collapse = " ")))
}
