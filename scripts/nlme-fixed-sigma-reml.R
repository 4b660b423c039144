## Why GLMM.md's "REML working model" row (glmmPQL with nlme REML and lmeControl(sigma = 1)) is not textbook
## PQL-REML: on a plain LMM with σ fixed at 1, nlme's ML equals the textbook ML maximum, but nlme's REML does
## not maximise the textbook restricted likelihood −½(log|V| + log|XᵀV⁻¹X| + yᵀPy). The R side of nlme
## (logLik.reStruct) adds N log σ − exp(lRSS)/(2σ) to the C value when σ is fixed and REML is on; the C side
## is not in this installation. Printed: both maxima, and nlme's REML objective minus the textbook one at
## several τ (not constant in τ: a different criterion).   Rscript scripts/nlme-fixed-sigma-reml.R
suppressMessages(library(nlme))
set.seed(7)
n <- 150; g <- factor(rep(1:15, each = 10)); x <- rnorm(n); x2 <- runif(n)
u <- rnorm(15, sd = 0.8); w <- runif(n, 0.3, 3); y <- 1 + 0.5 * x - x2 + u[g] + rnorm(n) / sqrt(w)
X <- cbind(1, x, x2); Z <- model.matrix(~ g - 1)
d <- data.frame(y, x, x2, g, iw = 1 / w)
parts <- function(tau) { V <- tau * Z %*% t(Z) + diag(1 / w); Vi <- solve(V)
  XtViX <- t(X) %*% Vi %*% X; b <- solve(XtViX, t(X) %*% Vi %*% y); r <- y - X %*% b
  c(ldV = as.numeric(determinant(V)$modulus), ldX = as.numeric(determinant(XtViX)$modulus),
    rss = as.numeric(t(r) %*% Vi %*% r)) }
reml <- function(t) { q <- parts(t); -0.5 * (q[["ldV"]] + q[["ldX"]] + q[["rss"]]) }
ml <- function(t) { q <- parts(t); -0.5 * (q[["ldV"]] + q[["rss"]]) }
ctl <- lmeControl(sigma = 1, tolerance = 1e-12, msTol = 1e-12)
for (m in c("ML", "REML")) {
  f <- lme(y ~ x + x2, data = d, random = ~ 1 | g, weights = varFixed(~ iw), method = m, control = ctl)
  tb <- optimize(function(t) -(if (m == "ML") ml(t) else reml(t)), c(1e-4, 20), tol = 1e-10)$minimum
  cat(m, ": nlme tau", format(as.numeric(VarCorr(f)[1, 1]), digits = 10), " textbook tau", format(tb, digits = 10), "\n")
}
nlmeAt <- function(tau) as.numeric(logLik(suppressWarnings(lme(y ~ x + x2, data = d,
  random = list(g = pdIdent(matrix(tau, 1, 1, dimnames = list("(Intercept)", "(Intercept)")), form = ~ 1)),
  weights = varFixed(~ iw), method = "REML", control = lmeControl(sigma = 1, msMaxIter = 0, niterEM = 0,
  maxIter = 1, returnObject = TRUE, apVar = FALSE)))))
for (t in c(0.2, 0.5, 1, 2.5)) cat("tau", t, ": nlme REML logLik − textbook REML =", format(nlmeAt(t) - reml(t), digits = 8), "\n")
