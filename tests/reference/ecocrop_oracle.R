# Oracle for gies.methods.ecocrop with `rainfall: dismo`: dismo's per-cell ECOCROP model
# (R/ecocrop.R, .doEcocrop, with its trapezoid .getY) and the moving window it uses
# (raster R/movingFun.R, type "from", circular), written out step by step in plain R so that
# neither package is needed. For a cell with monthly tmin, tavg, prec (12 values each):
#   duration  = round((GMIN + GMAX) / 60)               R's round: halves to even
#   temp[k]   = getY(TMIN, TOPMN, TOPMX, TMAX; tavg[k])
#   kill[k]   = getY(KTMP, KTMP, Inf, Inf; tmin[k] - 5)  1 where tmin - 5 > KTMP, else 0
#   cum[k]    = sum(prec[k .. k + duration]) + prec[k - 1]     months circular: d + 2 months
#   rain[k]   = getY(RMIN, ROPMN, ROPMX, RMAX; cum[k])
#   month[k]  = min(temp[k], kill[k], rain[k])
#   suit[s]   = min(month[s .. s + duration - 1])                        circular
#   maxper    = which(suit == max(suit)) when max(suit) > 0, else 0
# (.ecoSpat, the raster entry point, keeps only the first of maxper.)
#
# Run from the repository root (needs R and terra):
#   Rscript tests/reference/ecocrop_oracle.R [data folder]
# It writes
#   tests/reference/ecocrop_oracle_senegal.csv: every valid cell of the Senegal tile
#     (ta.tif, pr.tif; no tmin, so KTMP = -Inf, which is gies's ktmp None) with sorghum's
#     ECOCROP parameters: row, col (0-based), score = max(suit), maxper (space-separated);
#   tests/reference/ecocrop_oracle_cells.csv: random cells on a 0.25 grid (exact in float32)
#     with cycles of 1 to 12 months and killing temperatures: the inputs, then score, maxper.

suppressPackageStartupMessages(library(terra))

args <- commandArgs(trailingOnly = TRUE)
data_dir <- if (length(args) > 0) args[1] else "data/sample/senegal"
out_dir <- "tests/reference"

# dismo's .getY: 0 at or below a1, ramp to 1 at a2, 1 to a3, ramp to 0 at a4, 0 at or above
# a4; later rules overwrite earlier ones, as in the assignments of .getY
get_y <- function(a, x) {
  y <- rep(NA_real_, length(x))
  y[x <= a[1]] <- 0
  i <- x <= a[2] & x > a[1]
  y[i] <- (x[i] - a[1]) / (a[2] - a[1])
  y[x <= a[3] & x > a[2]] <- 1
  i <- x <= a[4] & x > a[3]
  y[i] <- 1 + (0 - 1) * (x[i] - a[3]) / (a[4] - a[3])
  y[x >= a[4]] <- 0
  y
}

# raster's movingFun(x, n, fun, type = "from", circular = TRUE): value k is
# fun(x[k], ..., x[k + n - 1]), the vector continued by its first n values
moving_from <- function(x, n, fun) {
  lng <- length(x)
  x <- c(x, x[1:n])
  m <- matrix(ncol = n, nrow = lng)
  for (i in 1:n) m[, i] <- x[i:(lng + i - 1)]
  apply(m, 1, fun)
}

do_ecocrop <- function(gmin, gmax, ktmp, tlim, rlim, tmin, tavg, prec) {
  if (any(is.na(c(tmin, tavg, prec)))) return(list(score = NA_real_, maxper = NA))
  duration <- round((gmin + gmax) / 60)
  temp <- get_y(tlim, tavg)
  kill <- get_y(c(ktmp, ktmp, Inf, Inf), tmin - 5)
  shifted <- c(prec[12], prec[-12])  # prec[k - 1]
  cum <- moving_from(prec, duration + 1, sum) + shifted
  rain <- get_y(rlim, cum)
  month <- apply(cbind(temp, kill, rain), 1, min)
  suit <- moving_from(month, duration, min)
  best <- max(suit)
  list(score = best, maxper = if (best > 0) which(suit == best) else 0)
}

# -- the Senegal tile, sorghum (low altitude) -------------------------------------------------
tlim <- c(8, 27, 35, 40)
rlim <- c(300, 500, 1000, 3000)
ta <- as.matrix(values(rast(file.path(data_dir, "ta.tif"))))
pr <- as.matrix(values(rast(file.path(data_dir, "pr.tif"))))
nc <- ncol(rast(file.path(data_dir, "ta.tif")))
valid <- which(complete.cases(ta) & complete.cases(pr))
score <- numeric(length(valid))
maxper <- character(length(valid))
for (i in seq_along(valid)) {
  j <- valid[i]
  e <- do_ecocrop(90, 300, -Inf, tlim, rlim, ta[j, ], ta[j, ], pr[j, ])
  score[i] <- e$score
  maxper[i] <- paste(e$maxper, collapse = " ")
}
write.csv(data.frame(row = (valid - 1) %/% nc, col = (valid - 1) %% nc,
                     score = sprintf("%.9f", score), maxper = maxper),
          file.path(out_dir, "ecocrop_oracle_senegal.csv"), row.names = FALSE, quote = FALSE)

# -- random cells: every season length, killing temperatures, ties ---------------------------
set.seed(7)
cycles <- list(c(10, 40), c(30, 60), c(60, 120), c(90, 300), c(150, 210), c(180, 300),
               c(240, 360), c(300, 330), c(300, 365), c(330, 360), c(365, 365), c(90, 150),
               c(120, 180), c(180, 240), c(240, 300))
rows <- list()
for (i in 1:240) {
  g <- cycles[[(i - 1) %% length(cycles) + 1]]
  d <- round((g[1] + g[2]) / 60)
  # a yearly temperature cycle around 14..32 degC, its coldest month anywhere
  tavg <- runif(1, 14, 32) + runif(1, 0, 10) * cos(2 * pi * (1:12 - runif(1, 1, 12)) / 12)
  tavg <- round((tavg + runif(12, -1.5, 1.5)) * 4) / 4
  tmin <- tavg - round(runif(12, 4, 14) * 4) / 4
  prec <- round(runif(12, 0, 1) ^ 2 * 2 * 1200 / (d + 2) * 4) / 4
  if (i %% 6 == 0) prec[sample(12, 4)] <- 0
  if (i %% 10 == 0) tavg[] <- 30        # flat temperatures: ties decided by rainfall
  ktmp <- c(-2, 0, 4, 8)[(i - 1) %% 4 + 1]
  e <- do_ecocrop(g[1], g[2], ktmp, tlim, rlim, tmin, tavg, prec)
  rows[[i]] <- data.frame(gmin = g[1], gmax = g[2], ktmp = ktmp,
                          t(setNames(tavg, paste0("tavg", 1:12))),
                          t(setNames(tmin, paste0("tmin", 1:12))),
                          t(setNames(prec, paste0("prec", 1:12))),
                          score = sprintf("%.9f", e$score),
                          maxper = paste(e$maxper, collapse = " "))
}
cells <- do.call(rbind, rows)
write.csv(cells, file.path(out_dir, "ecocrop_oracle_cells.csv"), row.names = FALSE, quote = FALSE)
cat(sprintf("%d tile cells (%d with ties), %d random cells (%d with ties, %d with score 0); %s, terra %s\n",
            length(valid), sum(grepl(" ", maxper)), nrow(cells), sum(grepl(" ", cells$maxper)),
            sum(cells$maxper == "0"), R.version.string, as.character(packageVersion("terra"))))
