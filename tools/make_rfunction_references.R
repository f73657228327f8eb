# R's meaning of the functions of the formula language (formula/rfuncs.py,
# formula/rpoly.py, formula/rvalues.py): poly() bases and their predict-time
# reuse, scale(), the contr.* matrices, factor() levels and labels,
# interaction(), R's arithmetic (%%, %/%, ^) and lme4's dummy().
#
# Usage: Rscript tools/make_rfunction_references.R tests/reference/rfunctions/rfunctions.json
suppressPackageStartupMessages({ library(lme4); library(jsonlite) })
out <- commandArgs(trailingOnly = TRUE)[1]
rows <- function(m) unname(lapply(seq_len(nrow(m)), function(i) as.numeric(m[i, ])))

ref <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")))

# poly(): the training basis, R's coefs, and predict() on new values.
x <- c(0.5, 1, 2, 3.5, 4, 6, 7.25, 9, 10, 10)
x_new <- c(-1, 0.75, 5, 12.5)
ref$poly <- lapply(1:4, function(degree) {
  p <- poly(x, degree)
  list(degree = degree, basis = rows(unclass(p)[, , drop = FALSE]),
       alpha = attr(p, "coefs")$alpha, norm2 = attr(p, "coefs")$norm2,
       predict = rows(predict(p, x_new)),
       raw = rows(unclass(poly(x, degree, raw = TRUE))[, , drop = FALSE]))
})
ref$poly_x <- x
ref$poly_new <- x_new

# contr.*: the matrices for 2..7 levels.
contrast <- function(f) lapply(2:7, function(n) rows(f(n)))
ref$contrasts <- list(
  contr.treatment = contrast(contr.treatment), contr.sum = contrast(contr.sum),
  contr.helmert = contrast(contr.helmert), contr.poly = contrast(contr.poly),
  contr.SAS = contrast(contr.SAS))
ref$contr_poly_names <- colnames(contr.poly(7))

# scale(): the centre and spread learnt on x (with a missing value), applied to new data.
s <- c(3, NA, 7, 1.5, 10, 4)
s_new <- c(0, 5, 20)
scaled <- function(center, scale) {
  m <- scale(s, center = center, scale = scale)
  ctr <- attr(m, "scaled:center"); spr <- attr(m, "scaled:scale")
  list(values = as.numeric(m),
       new = as.numeric(scale(s_new, center = if (is.null(ctr)) FALSE else ctr,
                              scale = if (is.null(spr)) FALSE else spr)))
}
ref$scale_x <- s
ref$scale_new <- s_new
ref$scale <- list(default = scaled(TRUE, TRUE), no_center = scaled(FALSE, TRUE),
                  no_scale = scaled(TRUE, FALSE), given = scaled(2, 4))

# factor(): levels and labels of numeric and character vectors.
num <- c(10, 2, 2.5, 1, 2, 1/3, 4601, -0.5, 1e-20, 123456.5)
chr <- c("b", "A", "a", "B", "b10", "b9", "Z", "z")
ref$factor_numeric <- list(x = num, levels = levels(factor(num)),
                           codes = as.integer(factor(num)))
ref$factor_character <- list(x = chr, levels = levels(factor(chr)),
                             codes = as.integer(factor(chr)))
# as.character() of doubles and integers: the labels of factor(x).
doubles <- c(1e15, 123456, 1e5 + 0.5, 0.1 + 0.2, 1/3, 2e-4, 1234567890123, -0.5, 1e-20,
             4601, 1e22, 100000, 3e6)
ref$labels_double <- list(x = doubles, labels = as.character(doubles))
integers <- c(100000L, 3000000L, 4601L, -2L)
ref$labels_integer <- list(x = integers, labels = as.character(integers))
ref$factor_logical <- list(x = c(TRUE, FALSE, TRUE), levels = levels(factor(c(TRUE, FALSE, TRUE))))

# interaction(): levels (first factor fastest), as model.frame keeps them (unused dropped).
a <- factor(c("x", "y", "x", "y", "x"), levels = c("x", "y"))
b <- factor(c("p", "p", "q", "r", "r"), levels = c("p", "q", "r"))
inter <- droplevels(interaction(a, b))
ref$interaction <- list(a = as.character(a), b = as.character(b),
                        levels_all = levels(interaction(a, b)),
                        levels = levels(inter), codes = as.integer(inter),
                        levels_sep = levels(droplevels(interaction(a, b, sep = "_"))))

# Arithmetic of I(): %% and %/% follow floor division; ^ is a power.
u <- c(-7, 7, -7.5, 7.5, 0, 2)
v <- c(3, -3, 2, 2, 5, 0.5)
ref$arithmetic <- list(u = u, v = v, mod = u %% v, intdiv = u %/% v, power = u^v,
                       log2 = log(abs(u) + 1, base = 2), log_base = log(abs(u) + 1, 7))

# lme4's dummy(): indicator columns.
f <- factor(c("lo", "hi", "mid", "hi"), levels = c("lo", "mid", "hi"))
ref$dummy <- list(f = as.character(f), levels = levels(f), all = rows(dummy(f)),
                  keep_hi = as.numeric(dummy(f, "hi")))

# model.matrix() of a right-hand side with poly(), scale(), an ordered factor and contrasts=
# (design/rformula.py's r_matrix), and the response log(y).
d <- data.frame(x = c(1, 2.5, 3, 4.5, 6, 7, 8.5, 10), z = c(5, 3, 8, 1, 9, 2, 7, 4),
                f = factor(c("a", "b", "c", "a", "b", "c", "a", "b")),
                o = factor(c("lo", "hi", "mid", "mid", "lo", "hi", "hi", "lo"),
                           levels = c("lo", "mid", "hi"), ordered = TRUE),
                y = c(2.1, 3.3, 1.7, 5.2, 4.4, 6.1, 2.9, 3.8))
rhs <- "poly(x, 2) * f + scale(z) + o"
mm <- model.matrix(as.formula(paste("~", rhs)), d, contrasts.arg = list(f = "contr.sum"))
ref$model_matrix <- list(data = lapply(d, function(col) if (is.factor(col)) as.character(col) else col),
                         levels = list(f = levels(d$f), o = levels(d$o)),
                         rhs = rhs, contrasts = list(f = "contr.sum"),
                         names = colnames(mm), matrix = rows(mm),
                         response = log(d$y))

writeLines(toJSON(ref, digits = NA, pretty = TRUE, auto_unbox = TRUE), out)
