# SIPp from Debian, as the compose file's trunk.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends sip-tester && rm -rf /var/lib/apt/lists/*
RUN useradd --system --no-create-home sipp
USER sipp
ENTRYPOINT ["sipp"]
