module vllmapp.dev/testbed/nodetools

go 1.26
