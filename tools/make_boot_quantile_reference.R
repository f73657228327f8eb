# Reference for the bootstrap quantile rule of boot.ci (boot's norm.inter), which lme4's
# confint(method = "boot") reports: quantiles of fixed vectors at several probabilities.
#
#   Rscript tools/make_boot_quantile_reference.R tests/reference/bootstrap/boot_quantiles.json
suppressMessages({library(boot); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "boot_quantiles.json"
set.seed(20261201)
probabilities <- c(0.001, 0.005, 0.025, 0.05, 0.1, 0.5, 0.9, 0.95, 0.975, 0.995, 0.999)
cases <- lapply(c(10L, 39L, 200L, 999L), function(n) {
  values <- rexp(n) * rnorm(n)
  list(values = values, probabilities = probabilities,
       quantiles = suppressWarnings(boot:::norm.inter(values, probabilities)[, 2]))
})
writeLines(toJSON(list(cases = cases, boot_version = as.character(packageVersion("boot"))),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE), out)
