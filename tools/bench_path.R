# glmnet's side of tools/bench_path.sh: the same tables, a 100-λ lasso path to λ_max/1000
# (standardize = TRUE, glmnet's defaults otherwise) and cv.glmnet with 10 folds; best of 3.
# Usage: Rscript tools/bench_path.R DIR tall|wide
suppressMessages(library(glmnet))
dir <- commandArgs(TRUE)[1]
which <- commandArgs(TRUE)[2]
load <- function(name, cols) {
  n <- file.size(file.path(dir, paste0(name, "_y.bin"))) / 8
  x <- matrix(readBin(file.path(dir, paste0(name, "_x.bin")), "double", n * cols),
              nrow = n, byrow = TRUE)
  list(x = x, y = readBin(file.path(dir, paste0(name, "_y.bin")), "double", n))
}
best <- function(f) min(sapply(1:3, function(i) system.time(f())[["elapsed"]]))
for (case in list(list("tall", 100, TRUE), list("wide", 10000, FALSE))) {
  if (case[[1]] != which) next
  d <- load(case[[1]], case[[2]])
  fit <- NULL
  t <- best(function() fit <<- glmnet(d$x, d$y, nlambda = 100, lambda.min.ratio = 1e-3))
  cat(sprintf("glmnet %s path: %.3f s (%d λ fitted of 100)\n", case[[1]], t, length(fit$lambda)))
  if (case[[3]]) {
    t <- best(function() cv.glmnet(d$x, d$y, nfolds = 10, nlambda = 100, lambda.min.ratio = 1e-3))
    cat(sprintf("glmnet %s cv10: %.3f s\n", case[[1]], t))
  }
}
