# Extra nlme references for residual structures (issue 10), beyond ../shared/reference/residual:
#  - a correlation together with a variance structure (CAR1 + varIdent);
#  - prior weights combined with a structure (lme4's weights w: var = sigma^2 / w, which is
#    nlme's varFixed(~ 1/w)), with AR1 and with varIdent (varComb);
#  - residuals (response, pearson, normalized) and fitted values of some cases.
# Run: Rscript tools/make_residual_extras.R (from the repository root). Writes
# tests/reference/residual/extra/*.json. The data are tests/reference/residual/data/*.csv.
suppressPackageStartupMessages({library(nlme); library(jsonlite)})
dir <- "tests/reference/residual/data"; out <- "tests/reference/residual/extra"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
load_data <- function(name) {
  d <- read.csv(file.path(dir, paste0(name, ".csv")), stringsAsFactors = FALSE)
  sch <- fromJSON(file.path(dir, paste0(name, ".schema.json")))
  for (v in names(sch$levels)) d[[v]] <- factor(as.character(d[[v]]), levels = sch$levels[[v]])
  d
}
ctrl <- lmeControl(maxIter = 500, msMaxIter = 500, msMaxEval = 2000, niterEM = 25, apVar = FALSE)
record <- function(m, with_resid) {
  ll <- logLik(m)
  r <- list(logLik = as.numeric(ll), npar = attr(ll, "df"), fixef = as.list(fixef(m)),
            se = as.list(sqrt(diag(vcov(m)))), sigma = m$sigma)
  if (!is.null(m$modelStruct$corStruct))
    r$Phi <- unname(coef(m$modelStruct$corStruct, unconstrained = FALSE))
  vs <- m$modelStruct$varStruct
  if (!is.null(vs)) {
    if (inherits(vs, "varComb")) vs <- vs[[1]]
    if (inherits(vs, "varIdent")) r$varIdent_ratios <- as.list(coef(vs, unconstrained = FALSE, allCoef = TRUE))
  }
  if (with_resid) {
    r$fitted <- unname(fitted(m, level = 1))
    r$resid_response <- unname(resid(m, type = "response"))
    r$resid_pearson <- unname(resid(m, type = "pearson"))
    r$resid_normalized <- unname(resid(m, type = "normalized"))
  }
  r
}
# nlme's resid(type = "normalized") whitens the residuals (kept in data order) group by group in
# the order of the grouping factor's levels, so on data not sorted by those levels (Ovary: levels
# 4, 2, 11, ...) the groups are misaligned (checked against whitening each Mare by hand: 2.5 off
# directly, 1e-15 after sorting). The stored values come from the fit on the data sorted by the
# grouping factor, mapped back to data order.
normalized_in_data_order <- function(cl, d, group) {
  o <- order(d[[group]]); cl$data <- d[o, ]; m <- eval(cl)
  out <- numeric(nrow(d)); out[o] <- unname(resid(m, type = "normalized")); out
}
case <- function(id, desc, d, fixed, random, corr = NULL, wts = NULL, with_resid = TRUE, extra = list(),
                 group = all.vars(random)[length(all.vars(random))]) {
  res <- list(id = id, description = desc)
  for (REML in c(TRUE, FALSE)) {
    cl <- bquote(lme(fixed = .(fixed), random = .(random), data = d, method = .(if (REML) "REML" else "ML"),
                     control = ctrl))
    if (!is.null(corr)) cl$correlation <- corr
    if (!is.null(wts)) cl$weights <- wts
    m <- eval(cl)
    r <- record(m, with_resid && REML)
    if (with_resid && REML) {
      r$nlme_direct_resid_normalized <- r$resid_normalized
      r$resid_normalized <- normalized_in_data_order(cl, d, group)
    }
    res[[if (REML) "REML" else "ML"]] <- r
  }
  res <- c(res, extra)
  write_json(res, file.path(out, paste0(id, ".json")), digits = NA, auto_unbox = TRUE, pretty = TRUE)
}
bw <- load_data("BodyWeight")
ov <- load_data("Ovary")
ov$prior_w <- 1 + (seq_len(nrow(ov)) %% 3) / 2   # lme4 weights: var = sigma^2 / prior_w
ov$inv_w <- 1 / ov$prior_w
bw$prior_w <- 1 + (seq_len(nrow(bw)) %% 4) / 4
bw$inv_w <- 1 / bw$prior_w

case("bodyweight_car1_varident", "CAR1 within Rat together with varIdent by Diet", bw,
     weight ~ Time * Diet, ~ Time | Rat, quote(corCAR1(form = ~ Time | Rat)), quote(varIdent(form = ~ 1 | Diet)))
case("ovary_ar1_weights", "AR1 within Mare (row order) with prior weights prior_w = 1 + (row %% 3) / 2 (1-based row)", ov,
     follicles ~ sin(2 * pi * Time) + cos(2 * pi * Time), ~ 1 | Mare, quote(corAR1()), quote(varFixed(~ inv_w)),
     extra = list(prior_w = ov$prior_w))
case("bodyweight_varident_weights", "varIdent by Diet with prior weights prior_w = 1 + (row %% 4) / 4 (1-based row)", bw,
     weight ~ Time * Diet, ~ Time | Rat, NULL, quote(varComb(varIdent(form = ~ 1 | Diet), varFixed(~ inv_w))),
     extra = list(prior_w = bw$prior_w))
case("ovary_ar1_residuals", "residuals of ovary_ar1", ov,
     follicles ~ sin(2 * pi * Time) + cos(2 * pi * Time), ~ 1 | Mare, quote(corAR1()))
case("bodyweight_car1_residuals", "residuals of bodyweight_car1", bw,
     weight ~ Time * Diet, ~ Time | Rat, quote(corCAR1(form = ~ Time | Rat)))
case("bodyweight_varident_residuals", "residuals of bodyweight_varident", bw,
     weight ~ Time * Diet, ~ Time | Rat, NULL, quote(varIdent(form = ~ 1 | Diet)))
cat(R.version.string, "nlme", as.character(packageVersion("nlme")), "\n")
