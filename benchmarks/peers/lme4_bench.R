# lme4 peer of the mixedmodels speed benchmark.
#
# Usage: Rscript lme4_bench.R CSV SCHEMA_JSON FORMULA REML(TRUE|FALSE) REPS [BUDGET_SECONDS]
#
# Reads the CSV (plain or gzipped) with the column types of the schema JSON
# ({"columns": {col: "factor"|"numeric"}, "levels": {col: [levels]}}), then fits
# lmer(FORMULA, data, REML = REML) up to REPS times (stopping early once the fits
# took more than BUDGET_SECONDS in total).  Progress is printed as JSON events,
# one per line, prefixed by "@@BENCH@@ " (the protocol of benchmarks/peers):
#   ready: version, data_source, input_bytes
#   rep:   seconds (wall-clock elapsed, via Sys.time()), loglik, converged
#   error: kind, message
#   done:  peak_rss_mb (VmHWM of this R process)

marker <- "@@BENCH@@ "
emit <- function(x) {
  cat(marker, jsonlite::toJSON(x, auto_unbox = TRUE, digits = NA, null = "null"), "\n",
      sep = "")
  flush(stdout())
}

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 5) {
  stop("usage: Rscript lme4_bench.R CSV SCHEMA FORMULA REML REPS [BUDGET]")
}
csv_path <- args[[1]]
schema_path <- args[[2]]
formula_txt <- args[[3]]
reml <- toupper(args[[4]]) %in% c("TRUE", "T", "1")
reps <- as.integer(args[[5]])
budget <- if (length(args) >= 6) as.numeric(args[[6]]) else Inf

if (!requireNamespace("jsonlite", quietly = TRUE)) {
  cat(marker, '{"event":"error","kind":"unavailable","message":"R package jsonlite missing"}\n',
      sep = "")
  quit(status = 0)
}
if (!requireNamespace("lme4", quietly = TRUE)) {
  emit(list(event = "error", kind = "unavailable", message = "R package lme4 not installed"))
  quit(status = 0)
}
suppressPackageStartupMessages(library(lme4))

version <- sprintf("%s (%s)", as.character(packageVersion("lme4")), R.version.string)

schema <- jsonlite::fromJSON(schema_path, simplifyVector = TRUE)
kinds <- unlist(schema$columns)
col_classes <- ifelse(kinds == "factor", "character", "numeric")
names(col_classes) <- names(kinds)

read_data <- function(path) {
  if (!grepl("\\.gz$", path) && requireNamespace("data.table", quietly = TRUE)) {
    d <- data.table::fread(path, colClasses = col_classes, showProgress = FALSE)
    return(as.data.frame(d))
  }
  utils::read.csv(path, colClasses = col_classes, stringsAsFactors = FALSE)
}

df <- tryCatch(read_data(csv_path), error = function(e) e)
if (inherits(df, "error")) {
  emit(list(event = "error", kind = "error",
            message = paste("data loading failed:", conditionMessage(df))))
  quit(status = 0)
}
for (col in names(kinds)[kinds == "factor"]) {
  lev <- schema$levels[[col]]
  df[[col]] <- if (is.null(lev)) factor(df[[col]]) else factor(df[[col]], levels = lev)
}

emit(list(event = "ready", version = version, data_source = "csv+schema (R)",
          input_bytes = as.numeric(utils::object.size(df))))

form <- stats::as.formula(formula_txt)
total <- 0
for (i in seq_len(reps)) {
  invisible(gc())
  fit <- NULL
  err <- NULL
  # Wall-clock elapsed time, like system.time()[["elapsed"]] but with sub-millisecond
  # resolution (Sys.time() has microsecond resolution on Linux).
  t0 <- Sys.time()
  fit <- tryCatch(suppressWarnings(suppressMessages(lmer(form, data = df, REML = reml))),
                  error = function(e) { err <<- conditionMessage(e); NULL })
  secs <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
  if (is.null(fit)) {
    emit(list(event = "error", kind = "error", message = err))
    quit(status = 0)
  }
  conv <- fit@optinfo$conv
  msgs <- c(conv$lme4$messages, fit@optinfo$warnings)
  msgs <- msgs[!grepl("singular", unlist(msgs))]
  converged <- identical(as.integer(conv$opt), 0L) && length(msgs) == 0
  emit(list(event = "rep", seconds = secs, loglik = as.numeric(logLik(fit)),
            converged = converged))
  total <- total + secs
  if (total > budget) break
}

hwm <- tryCatch({
  st <- readLines("/proc/self/status")
  kb <- as.numeric(gsub("[^0-9]", "", st[grepl("^VmHWM", st)]))
  kb / 1024
}, error = function(e) NULL)
emit(list(event = "done", peak_rss_mb = hwm))
