# Oracle for gies.methods.similarity: MESS and BIOCLIM on the South America bioclim stack
# (data/sample/south-america), computed cell by cell in plain R from the definitions of the
# R packages predicts and dismo:
#   MESS     predicts R/mess.R (.messi: f = 100 * findInterval(x, sort(ref)) / n, then the
#            four cases); dismo R/mess.R (.messi3) is the same.
#   BIOCLIM  predicts R/envelope.R (.percRank, .envelope_predict and the tails handling of
#            predict: "high" drops the minimum check, "low" the maximum check); dismo
#            R/bioclim.predict.R and src/percRank.cpp agree.
# The most dissimilar variable is which.min of the per-variable MESS (first on ties), as
# GRASS r.mess's MoD.
#
# Run from the repository root (needs R and terra):
#   Rscript tests/reference/similarity_oracle.R [data folder]
# It writes tests/reference/similarity_oracle_ref.csv (the reference sample: the distinct
# cells of the Bradypus presence points, with their values) and
# tests/reference/similarity_oracle.csv (the reference cells and 500 random valid cells:
# their values, mess, mess_variable, bioclim with tails "both", bioclim_tails with the
# per-variable tails below).

suppressPackageStartupMessages(library(terra))

args <- commandArgs(trailingOnly = TRUE)
data_dir <- if (length(args) > 0) args[1] else "data/sample/south-america"
out_dir <- "tests/reference"

bio <- rast(file.path(data_dir, "bio.tif"))
names(bio) <- c("bio1", "bio5", "bio6", "bio7", "bio8", "bio9", "bio12", "bio16", "bio17")
vars <- c("bio1", "bio5", "bio6", "bio7", "bio8", "bio12", "bio16", "bio17")  # bio9 = bio1
bio <- bio[[vars]]
tails <- c(bio1 = "both", bio5 = "high", bio6 = "low", bio7 = "both", bio8 = "low",
           bio12 = "high", bio16 = "both", bio17 = "low")

# the reference: distinct cells of the presence points with a value in every variable
pts <- read.csv(file.path(data_dir, "bradypus.csv"))
ref_cells <- sort(unique(cellFromXY(bio, as.matrix(pts[, c("lon", "lat")]))))
ref <- as.matrix(bio[ref_cells])
keep <- complete.cases(ref)
ref_cells <- ref_cells[keep]
ref <- ref[keep, , drop = FALSE]

# the cells to score: every reference cell and 500 other valid cells
all_values <- as.matrix(values(bio))
valid <- which(complete.cases(all_values))
set.seed(20)
cells <- sort(c(ref_cells, sample(setdiff(valid, ref_cells), 500)))
x <- all_values[cells, vars, drop = FALSE]

mess_variable_score <- function(value, v) {
  n <- length(v)
  lo <- min(v)
  hi <- max(v)
  f <- 100 * sum(v <= value) / n
  if (f == 0) {
    100 * (value - lo) / (hi - lo)
  } else if (f <= 50) {
    2 * f
  } else if (f < 100) {
    2 * (100 - f)
  } else {
    100 * (hi - value) / (hi - lo)
  }
}

bioclim_variable_score <- function(value, v, tail) {
  r <- (sum(v < value) + 0.5 * sum(v == value)) / length(v)
  if (tail == "both") {
    if (r > 0.5) r <- 1 - r
  } else if (tail == "high") {
    if (r < 0.5) r <- 0.5
    r <- 1 - r
  } else {
    if (r > 0.5) r <- 0.5
  }
  2 * r
}

bioclim_cell <- function(row, tails) {
  scores <- numeric(length(row))
  for (j in seq_along(row)) {
    v <- ref[, j]
    if ((tails[j] != "high" && row[j] < min(v)) || (tails[j] != "low" && row[j] > max(v))) {
      return(0)
    }
    scores[j] <- bioclim_variable_score(row[j], v, tails[j])
  }
  min(scores)
}

m <- nrow(x)
mess <- numeric(m)
mess_variable <- integer(m)
bioclim <- numeric(m)
bioclim_tails <- numeric(m)
for (i in seq_len(m)) {
  s <- sapply(seq_along(vars), function(j) mess_variable_score(x[i, j], ref[, j]))
  mess[i] <- min(s)
  mess_variable[i] <- which.min(s)
  bioclim[i] <- bioclim_cell(x[i, ], rep("both", length(vars)))
  bioclim_tails[i] <- bioclim_cell(x[i, ], tails[vars])
}

write.csv(data.frame(cell = ref_cells, ref), file.path(out_dir, "similarity_oracle_ref.csv"),
          row.names = FALSE)
write.csv(data.frame(cell = cells, x, mess = mess, mess_variable = mess_variable,
                     bioclim = bioclim, bioclim_tails = bioclim_tails),
          file.path(out_dir, "similarity_oracle.csv"), row.names = FALSE)
cat(sprintf("%d reference cells, %d scored cells (%d with mess < 0, %d with bioclim = 0); %s, terra %s\n",
            nrow(ref), m, sum(mess < 0), sum(bioclim == 0), R.version.string,
            as.character(packageVersion("terra"))))
