{
  "targets": [
    {
      "target_name": "trapezoid_media",
      "sources": [
        "src/addon.c",
        "src/socket.c",
        "src/route.c",
        "src/srtp.c",
        "src/rtp.c",
        "src/route_config.c",
        "src/dtls.c",
        "src/certificate.c"
      ],
      "defines": ["_GNU_SOURCE", "NAPI_VERSION=8"],
      "cflags!": ["-O3"],
      "cflags_c": [
        "-std=c11",
        "-O2",
        "-fvisibility=hidden",
        "-ffp-contract=off",
        "-Wno-deprecated-declarations"
      ]
    }
  ]
}
