module vllmapp.local/standin

go 1.22
