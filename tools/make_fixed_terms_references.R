# R's terms of the fixed part of lmer fits, as lmerTest reads them
# (results/fixed_terms.py): term labels, the columns of X each term owns
# (attr(X, "assign")), lme4's column names, lmerTest's numeric_terms and
# containment, and the factors' levels.
#
# Usage: Rscript tools/make_fixed_terms_references.R tests/reference/fixed_terms/fixed_terms.json
suppressPackageStartupMessages({ library(lmerTest); library(jsonlite) })
out <- commandArgs(trailingOnly = TRUE)[1]
set.seed(20261130)
n <- 48
d <- data.frame(x = round(rnorm(n), 4), z = round(runif(n, 1, 5), 4),
                f = factor(rep(c("a", "b", "c"), 16)),
                o = factor(rep(c("lo", "mid", "hi", "lo"), 12), levels = c("lo", "mid", "hi"),
                           ordered = TRUE),
                g = factor(rep(sprintf("g%d", 1:8), each = 6)))
d$y <- round(d$x + as.numeric(d$f) + rnorm(n) + rep(rnorm(8), each = 6), 4)

case <- function(formula, contrasts = NULL) {
  fit <- if (is.null(contrasts)) lmer(as.formula(formula), d)
         else lmer(as.formula(formula), d, contrasts = contrasts)
  X <- model.matrix(fit)
  tt <- terms(fit, fixed.only = TRUE)
  list(formula = formula, contrasts = contrasts,
       term_labels = attr(tt, "term.labels"), intercept = attr(tt, "intercept") == 1,
       assign = attr(X, "assign"), names = colnames(X),
       numeric_terms = names(which(lmerTest:::numeric_terms(fit))),
       containment = lapply(lmerTest:::containment(fit), as.list))
}
# model.matrix(~ 0 + term): every level of every factor (results/fixed_terms.term_dummies).
dummies <- function(term) {
  X <- model.matrix(as.formula(paste("~ 0 +", term)), d)
  list(term = term, names = colnames(X),
       matrix = unname(lapply(seq_len(nrow(X)), function(i) as.numeric(X[i, ]))))
}
ref <- list(
  R = R.version.string, lmerTest = as.character(packageVersion("lmerTest")),
  data = lapply(d, function(col) if (is.factor(col)) as.character(col) else col),
  levels = list(f = levels(d$f), o = levels(d$o), g = levels(d$g)),
  cases = list(
    interactions = case("y ~ x * f + o + f:o + (1 | g)"),
    nested_slope = case("y ~ f + x:f + z + (1 | g)"),
    sum_contrasts = case("y ~ x * f + (1 | g)", list(f = "contr.sum")),
    no_intercept = case("y ~ 0 + f + x + (1 | g)")
  ),
  dummies = list(dummies("f:o"), dummies("x:f"), dummies("f"), dummies("x"))
)
writeLines(toJSON(ref, digits = NA, pretty = TRUE, auto_unbox = TRUE), out)
