# EXNEX posterior by JAGS, run as bhmbasket runs it (performJags: 2 chains, adaptation and burn-in of
# floor(n_iter / 3) iterations, then n_iter iterations per chain), for tools/bench_jags.py.
#
# Usage: Rscript tools/jags_exnex.R INPUT OUTPUT
#   INPUT: one "key value value ..." line per setting (written by tools/bench_jags.py):
#     r, n          responders and patients per stratum
#     mu_mean, mu_sd, tau_scale   per exchangeable component: mu ~ Normal(mu_mean, mu_sd),
#                   tau ~ HalfNormal(tau_scale) truncated below at 0.001 (as bhmbasket's model)
#     nex_mean, nex_sd  per stratum: the non-exchangeable Normal(nex_mean, nex_sd) on the logit
#     w             prior probabilities of the exchangeable components (NEX: 1 - sum)
#     cut           thresholds x of P(p > x)
#     n_iter, n_chains, seed, repeats
#   OUTPUT: one line per analysis ("repeats" of them, independent seeds): "rep", its elapsed and CPU seconds
#     (from model compilation to the last draw), then per stratum the posterior means, sds, effective sample
#     sizes (coda's effectiveSize, the chains pooled) and, per threshold x, P(p > x).
# The model (Neuenschwander et al. 2016, Pharmaceutical Statistics 15:123-134, Appendix) is written here from
# the paper; the run settings are bhmbasket's (Wojciekowski, performJags and getPostQuantiles, version 0.9.x).

suppressPackageStartupMessages(library(rjags))

args <- commandArgs(trailingOnly = TRUE)
lines <- strsplit(readLines(args[1]), " +")
input <- setNames(lapply(lines, function(x) as.numeric(x[-1])), vapply(lines, `[`, "", 1))

model_text <- "
model {
  for (c in 1:J) {
    mu[c] ~ dnorm(mu_mean[c], pow(mu_sd[c], -2))
    tau[c] ~ dnorm(0, pow(tau_scale[c], -2)) T(0.001, )
  }
  for (k in 1:K) {
    for (c in 1:J) {
      re[c, k] ~ dnorm(0, pow(tau[c], -2))  # as bhmbasket: a random effect about mu
      lo[c, k] <- mu[c] + re[c, k]
    }
    lo[J + 1, k] ~ dnorm(nex_mean[k], pow(nex_sd[k], -2))
    z[k] ~ dcat(w_all[1:(J + 1)])
    logit(p[k]) <- lo[z[k], k]
    r[k] ~ dbin(p[k], n[k])
  }
}
"

K <- length(input$r)
J <- length(input$mu_mean)
data <- list(
  r = input$r, n = input$n, K = K, J = J,
  mu_mean = input$mu_mean, mu_sd = input$mu_sd, tau_scale = input$tau_scale,
  nex_mean = input$nex_mean, nex_sd = input$nex_sd, w_all = c(input$w, 1 - sum(input$w))
)
n_iter <- input$n_iter
n_chains <- input$n_chains
set.seed(input$seed)

analyse <- function() {
  inits <- lapply(seq_len(n_chains), function(i) {
    list(.RNG.name = "base::Mersenne-Twister", .RNG.seed = sample.int(2^30, 1))
  })
  m <- jags.model(textConnection(model_text), data = data, inits = inits, n.chains = n_chains,
                  n.adapt = 0, quiet = TRUE)
  adapt(m, n.iter = floor(n_iter / 3), progress.bar = "none", end.adaptation = TRUE)
  coda.samples(m, variable.names = "p", n.iter = n_iter, progress.bar = "none")
}

out <- character(0)
for (i in seq_len(input$repeats)) {  # independent analyses of the same data, each with its own seeds
  t0 <- proc.time()
  samples <- analyse()
  t1 <- proc.time() - t0
  draws <- as.matrix(samples)[, paste0("p[", seq_len(K), "]"), drop = FALSE]
  ess <- effectiveSize(samples)[paste0("p[", seq_len(K), "]")]
  above <- unlist(lapply(input$cut, function(x) colMeans(draws > x)))
  row <- c(t1[["elapsed"]], t1[["user.self"]] + t1[["sys.self"]], colMeans(draws), apply(draws, 2, sd), ess, above)
  out <- c(out, paste("rep", paste(format(row, digits = 17), collapse = " ")))
}
writeLines(out, args[2])
