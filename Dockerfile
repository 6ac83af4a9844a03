# keyflare images. Two targets:
#
#   docker build -t keyflare .                            # the default: keyflare alone
#   docker run --rm -v "$PWD:/src:ro" keyflare scan /src
#   docker build --target org-audit -t keyflare-org-audit .  # for deploy/kubernetes
#
# The binary is built for musl and linked statically, so the keyflare image is
# that one file on distroless/static (CA certificates, /tmp, no shell, no
# package manager), running as the non-root user 65532. tests/release.sh
# performs these build steps without a docker daemon.

FROM rust:1.85-alpine AS build
# musl-dev: the C runtime libgit2 (vendored C) is compiled against.
RUN apk add --no-cache musl-dev
WORKDIR /src
# No symbols in the shipped binary: 10.7 MB instead of 59.7 MB (musl, x86_64).
ENV CARGO_PROFILE_RELEASE_STRIP=symbols
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY rules rules
COPY examples examples
RUN cargo build --release --locked \
    && cp target/release/keyflare /keyflare \
    && /keyflare --version

# The organisation audit's jobs: keyflare, git for the mirror clones, bash for
# deploy/org-audit.sh (its audit, slice and merge steps need nothing else).
FROM alpine:3.22 AS org-audit
RUN apk add --no-cache bash git ca-certificates
COPY --from=build /keyflare /usr/local/bin/keyflare
COPY deploy/org-audit.sh /usr/local/bin/org-audit.sh
USER 65532:65532
ENV HOME=/tmp
ENTRYPOINT ["/usr/local/bin/org-audit.sh"]

FROM gcr.io/distroless/static-debian12:nonroot AS keyflare
COPY --from=build /keyflare /usr/local/bin/keyflare
USER 65532:65532
WORKDIR /src
ENTRYPOINT ["/usr/local/bin/keyflare"]
