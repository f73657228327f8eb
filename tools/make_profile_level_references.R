# lme4's profile-likelihood intervals at several levels (tests/results/test_profile.py).
# Run from the repository root: Rscript tools/make_profile_level_references.R
suppressMessages({library(lme4); library(jsonlite)})
levels <- c(0.8, 0.95, 0.99, 0.999)
cases <- list(
  sleepstudy = list(formula = Reaction ~ Days + (Days | Subject), data = sleepstudy,
                    dataset = "sleepstudy"),
  penicillin = list(formula = diameter ~ 1 + (1 | plate) + (1 | sample), data = Penicillin,
                    dataset = "Penicillin")
)
out <- list(lme4 = as.character(packageVersion("lme4")), levels = levels, cases = list())
for (name in names(cases)) {
  case <- cases[[name]]
  fit <- lmer(case$formula, case$data)  # REML, as lmer's default; profile refits ML
  # alphamax 1e-4: the profile reaches |zeta| = 3.9, past the 99.9 % level (3.29), so
  # confint interpolates its spline rather than extrapolating (the default, 0.01,
  # stops at 2.58); delta.cutoff 1/32 for a finer grid.
  prof <- profile(fit, signames = FALSE, alphamax = 1e-4, delta.cutoff = 1 / 32)
  intervals <- lapply(levels, function(level) {
    ci <- confint(prof, level = level)
    list(names = rownames(ci), lower = unname(ci[, 1]), upper = unname(ci[, 2]))
  })
  out$cases[[name]] <- list(dataset = case$dataset, formula = deparse(case$formula),
                            intervals = intervals)
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/profile/profile_levels.json")
