{
  "targets": [
    {
      "target_name": "herald_send",
      "conditions": [
        ["OS=='linux'", {
          "sources": ["herald_send.cc"],
          "cflags_cc": ["-O2", "-std=c++17", "-Wall", "-Wextra", "-fno-exceptions"]
        }]
      ]
    }
  ]
}
