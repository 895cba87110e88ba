// Command vllm is a stand-in for the vLLM OpenAI-compatible server, used by
// vllmapp's test bed where no real vLLM image can be pulled and no GPU exists.
//
// It is installed as /usr/local/bin/vllm in the image vllmapp-standin:<hash>
// (ENTRYPOINT ["vllm", "serve"], like vllm/vllm-openai) and understands:
//
//	vllm serve <model> [--port N] [--host H] [--served-model-name NAME...] [--api-key K] [other vLLM flags]
//	vllm --version
//
// Unknown flags are accepted and ignored. Behaviour switches (environment):
//
//	STANDIN_STARTUP_DELAY   seconds before /health turns 200 (503 before); default 0
//	STANDIN_CRASH=1         print startup lines and a traceback, then exit 1
//	STANDIN_CRASH_DELAY     seconds to wait before crashing (default 0)
//	STANDIN_REJECT_FLAGS    comma list of flags (e.g. "--foo,--bar") rejected
//	                        argparse-style: "vllm: error: unrecognized arguments: --foo", exit 2
//	STANDIN_LOG_LINES=N     print N extra log lines at startup
//	STANDIN_RESPONSE_DELAY_MS  delay of each completion response (default 0)
//	STANDIN_TICK_RATE=N     once ready, print N numbered lines a second ("tick 1", "tick 2" …,
//	                        line k due k/N s after startup), so a log reader can count what it got
//	VLLM_API_KEY            if set (or --api-key), /v1/* need "Authorization: Bearer <key>"
//
// Only the Go standard library is used, so it builds with CGO_ENABLED=0.
package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const vllmVersion = "0.19.0"

// Flags of `vllm serve` that take no value (so the next word is not eaten).
var boolFlags = map[string]bool{
	"--trust-remote-code": true, "--enforce-eager": true, "--enable-prefix-caching": true,
	"--no-enable-prefix-caching": true, "--enable-chunked-prefill": true, "--no-enable-chunked-prefill": true,
	"--disable-log-requests": true, "--enable-log-requests": true, "--disable-log-stats": true,
	"--enable-auto-tool-choice": true, "--enable-lora": true, "--disable-frontend-multiprocessing": true,
	"--headless": true, "--async-scheduling": true, "--enable-expert-parallel": true,
	"--disable-custom-all-reduce": true, "--enable-sleep-mode": true, "--disable-fastapi-docs": true,
	"--return-tokens-as-token-ids": true, "--enable-prompt-tokens-details": true,
	"--enable-force-include-usage": true, "--enable-server-load-tracking": true,
	"--disable-uvicorn-access-log": true, "--enable-request-id-headers": true, "--skip-tokenizer-init": true,
	"--enable-log-outputs": true, "--disable-sliding-window": true, "--enable-eplb": true,
	"--enable-dbo": true, "--enable-tokenizer-info-endpoint": true, "--no-enable-log-requests": true,
}

type config struct {
	model       string
	names       []string
	host        string
	port        int
	apiKey      string
	maxModelLen int
	args        map[string]string
}

type logger struct {
	mu  sync.Mutex
	pid int
}

func (l *logger) line(proc, level, src, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := time.Now().UTC().Format("01-02 15:04:05")
	if src == "" {
		fmt.Fprintf(os.Stdout, "(%s) %s:     %s\n", proc, level, msg)
		return
	}
	fmt.Fprintf(os.Stdout, "(%s) %s %s [%s] %s\n", proc, level, ts, src, msg)
}

var lg = &logger{pid: os.Getpid()}

func api(src, msg string)  { lg.line(fmt.Sprintf("APIServer pid=%d", lg.pid), "INFO", src, msg) }
func core(src, msg string) { lg.line(fmt.Sprintf("EngineCore_DP0 pid=%d", lg.pid+1), "INFO", src, msg) }
func coreErr(src, msg string) {
	lg.line(fmt.Sprintf("EngineCore_DP0 pid=%d", lg.pid+1), "ERROR", src, msg)
}

// tick prints "tick k" at k/rate seconds after it starts (on a fixed schedule, so a slow write does
// not shift the later lines) until stop closes.
func tick(rate float64, stop <-chan struct{}) {
	start := time.Now()
	for k := 1; ; k++ {
		select {
		case <-time.After(time.Until(start.Add(time.Duration(float64(k) / rate * float64(time.Second))))):
			api("loggers.py:257", fmt.Sprintf("tick %d", k))
		case <-stop:
			return
		}
	}
}

func envFloat(name string, def float64) float64 {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		fmt.Fprintf(os.Stderr, "standin: ignoring invalid %s=%q\n", name, v)
		return def
	}
	return f
}

func usageErr(msg string) {
	fmt.Fprintln(os.Stderr, "usage: vllm serve [model_tag] [options]")
	fmt.Fprintf(os.Stderr, "vllm: error: %s\n", msg)
	os.Exit(2)
}

func parseArgs(argv []string) config {
	c := config{host: "0.0.0.0", port: 8000, args: map[string]string{}}
	reject := map[string]bool{}
	for _, f := range strings.Split(os.Getenv("STANDIN_REJECT_FLAGS"), ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.HasPrefix(f, "-") {
			f = "--" + f
		}
		reject[f] = true
	}
	var unrecognized []string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			if c.model == "" {
				c.model = a
				continue
			}
			unrecognized = append(unrecognized, a)
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		if reject[name] {
			unrecognized = append(unrecognized, a)
			if !hasVal && !boolFlags[name] && i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "-") {
				i++
				unrecognized = append(unrecognized, argv[i])
			}
			continue
		}
		if name == "--served-model-name" && !hasVal {
			// nargs="+": every following word up to the next flag.
			for i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "-") {
				i++
				c.names = append(c.names, argv[i])
			}
			if len(c.names) == 0 {
				usageErr("argument --served-model-name: expected at least one argument")
			}
			continue
		}
		if !hasVal && !boolFlags[name] && i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "--") {
			i++
			val, hasVal = argv[i], true
		}
		if !hasVal {
			val = "true"
		}
		c.args[name] = val
		switch name {
		case "--served-model-name":
			c.names = append(c.names, val)
		case "--model":
			c.model = val
		case "--port":
			p, err := strconv.Atoi(val)
			if err != nil || p <= 0 || p > 65535 {
				usageErr(fmt.Sprintf("argument --port: invalid int value: '%s'", val))
			}
			c.port = p
		case "--host":
			c.host = val
		case "--api-key":
			c.apiKey = val
		case "--max-model-len":
			n, err := strconv.Atoi(strings.TrimSuffix(strings.ToLower(val), "k"))
			if err == nil {
				if strings.HasSuffix(strings.ToLower(val), "k") {
					n *= 1024
				}
				c.maxModelLen = n
			}
		}
	}
	if len(unrecognized) > 0 {
		usageErr("unrecognized arguments: " + strings.Join(unrecognized, " "))
	}
	if c.model == "" {
		c.model = "Qwen/Qwen3-0.6B" // vLLM's default model
	}
	if len(c.names) == 0 {
		c.names = []string{c.model}
	}
	if c.apiKey == "" {
		c.apiKey = os.Getenv("VLLM_API_KEY")
	}
	if c.maxModelLen == 0 {
		c.maxModelLen = 40960
	}
	return c
}

type server struct {
	cfg       config
	ready     atomic.Bool
	running   atomic.Int64
	waiting   atomic.Int64
	success   atomic.Int64
	promptTok atomic.Int64
	genTok    atomic.Int64
	created   int64
	respDelay time.Duration
}

type apiError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    int     `json:"code"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, typ, msg string) {
	var e apiError
	e.Error.Message, e.Error.Type, e.Error.Code = msg, typ, status
	writeJSON(w, status, e)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		next.ServeHTTP(rec, r)
		if _, off := s.cfg.args["--disable-uvicorn-access-log"]; !off {
			api("", fmt.Sprintf("%s - \"%s %s HTTP/%d.%d\" %d %s", r.RemoteAddr, r.Method, r.URL.RequestURI(),
				r.ProtoMajor, r.ProtoMinor, rec.status, http.StatusText(rec.status)))
		}
	})
}

func (s *server) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.apiKey != "" {
			want := "Bearer " + s.cfg.apiKey
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "Unauthorized"})
				return
			}
		}
		if !s.ready.Load() {
			writeErr(w, http.StatusServiceUnavailable, "ServiceUnavailableError", "The server is starting up.")
			return
		}
		next(w, r)
	}
}

func (s *server) servedName(model string) (string, bool) {
	if model == "" {
		return s.cfg.names[0], true
	}
	for _, n := range s.cfg.names {
		if n == model {
			return n, true
		}
	}
	return "", false
}

func (s *server) models(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeErr(w, http.StatusMethodNotAllowed, "BadRequestError", "Method Not Allowed")
		return
	}
	type perm struct {
		ID                 string  `json:"id"`
		Object             string  `json:"object"`
		Created            int64   `json:"created"`
		AllowCreateEngine  bool    `json:"allow_create_engine"`
		AllowSampling      bool    `json:"allow_sampling"`
		AllowLogprobs      bool    `json:"allow_logprobs"`
		AllowSearchIndices bool    `json:"allow_search_indices"`
		AllowView          bool    `json:"allow_view"`
		AllowFineTuning    bool    `json:"allow_fine_tuning"`
		Organization       string  `json:"organization"`
		Group              *string `json:"group"`
		IsBlocking         bool    `json:"is_blocking"`
	}
	type model struct {
		ID          string  `json:"id"`
		Object      string  `json:"object"`
		Created     int64   `json:"created"`
		OwnedBy     string  `json:"owned_by"`
		Root        string  `json:"root"`
		Parent      *string `json:"parent"`
		MaxModelLen int     `json:"max_model_len"`
		Permission  []perm  `json:"permission"`
	}
	out := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list"}
	for _, n := range s.cfg.names {
		out.Data = append(out.Data, model{ID: n, Object: "model", Created: s.created, OwnedBy: "vllm",
			Root: s.cfg.model, MaxModelLen: s.cfg.maxModelLen,
			Permission: []perm{{ID: "modelperm-" + randID(), Object: "model_permission", Created: s.created,
				AllowSampling: true, AllowLogprobs: true, AllowView: true, Organization: "*"}}})
	}
	writeJSON(w, http.StatusOK, out)
}

func randID() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 32)
	for i := range b {
		b[i] = hex[rand.Intn(16)]
	}
	return string(b)
}

type chatReq struct {
	Model     string          `json:"model"`
	Messages  json.RawMessage `json:"messages"`
	Prompt    any             `json:"prompt"`
	Stream    bool            `json:"stream"`
	MaxTokens *int            `json:"max_tokens"`
	MaxCTok   *int            `json:"max_completion_tokens"`
}

func lastUserText(raw json.RawMessage) (string, int, error) {
	var msgs []struct {
		Role    string `json:"role"`
		Content any    `json:"content"`
	}
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return "", 0, err
	}
	if len(msgs) == 0 {
		return "", 0, errors.New("messages must not be empty")
	}
	words, last := 0, ""
	for _, m := range msgs {
		text := ""
		switch c := m.Content.(type) {
		case string:
			text = c
		case []any:
			for _, p := range c {
				if pm, ok := p.(map[string]any); ok {
					if t, ok := pm["text"].(string); ok {
						text += t
					}
				}
			}
		}
		words += len(strings.Fields(text)) + 4
		if m.Role == "user" {
			last = text
		}
	}
	return last, words, nil
}

func (s *server) complete(chat bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeErr(w, http.StatusMethodNotAllowed, "BadRequestError", "Method Not Allowed")
			return
		}
		s.waiting.Add(1)
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		s.waiting.Add(-1)
		if err != nil {
			writeErr(w, http.StatusBadRequest, "BadRequestError", err.Error())
			return
		}
		var req chatReq
		if err := json.Unmarshal(body, &req); err != nil {
			writeErr(w, http.StatusBadRequest, "BadRequestError", "Invalid JSON: "+err.Error())
			return
		}
		name, ok := s.servedName(req.Model)
		if !ok {
			writeErr(w, http.StatusNotFound, "NotFoundError", fmt.Sprintf("The model `%s` does not exist.", req.Model))
			return
		}
		var userText string
		var promptTokens int
		if chat {
			if len(req.Messages) == 0 {
				writeErr(w, http.StatusBadRequest, "BadRequestError", "Field required: messages")
				return
			}
			userText, promptTokens, err = lastUserText(req.Messages)
			if err != nil {
				writeErr(w, http.StatusBadRequest, "BadRequestError", err.Error())
				return
			}
		} else {
			userText = fmt.Sprint(req.Prompt)
			promptTokens = len(strings.Fields(userText)) + 1
		}
		maxTok := 16
		if req.MaxTokens != nil {
			maxTok = *req.MaxTokens
		} else if req.MaxCTok != nil {
			maxTok = *req.MaxCTok
		}
		if maxTok < 1 {
			maxTok = 1
		}
		words := strings.Fields("This is a reply from the vllmapp stand-in server. You said: " + userText)
		finish := "stop"
		if len(words) > maxTok {
			words, finish = words[:maxTok], "length"
		}
		text := strings.Join(words, " ")

		s.running.Add(1)
		defer s.running.Add(-1)
		if s.respDelay > 0 {
			select {
			case <-time.After(s.respDelay):
			case <-r.Context().Done():
				return
			}
		}
		s.success.Add(1)
		s.promptTok.Add(int64(promptTokens))
		s.genTok.Add(int64(len(words)))
		id := "cmpl-" + randID()
		obj := "text_completion"
		if chat {
			id, obj = "chatcmpl-"+randID(), "chat.completion"
		}
		now := time.Now().Unix()
		usage := map[string]any{"prompt_tokens": promptTokens, "completion_tokens": len(words),
			"total_tokens": promptTokens + len(words), "prompt_tokens_details": nil}
		if req.Stream {
			w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			fl, _ := w.(http.Flusher)
			send := func(v any) {
				b, _ := json.Marshal(v)
				fmt.Fprintf(w, "data: %s\n\n", b)
				if fl != nil {
					fl.Flush()
				}
			}
			for i, word := range words {
				piece := word
				if i > 0 {
					piece = " " + word
				}
				var choice map[string]any
				if chat {
					delta := map[string]any{"content": piece}
					if i == 0 {
						delta["role"] = "assistant"
					}
					choice = map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": nil}
				} else {
					choice = map[string]any{"index": 0, "text": piece, "logprobs": nil, "finish_reason": nil}
				}
				if i == len(words)-1 {
					choice["finish_reason"] = finish
					choice["stop_reason"] = nil
				}
				o := obj + ".chunk"
				if !chat {
					o = obj
				}
				send(map[string]any{"id": id, "object": o, "created": now, "model": name, "choices": []any{choice}})
			}
			fmt.Fprint(w, "data: [DONE]\n\n")
			return
		}
		var choice map[string]any
		if chat {
			choice = map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text,
				"refusal": nil, "annotations": nil, "audio": nil, "function_call": nil, "tool_calls": []any{},
				"reasoning_content": nil}, "logprobs": nil, "finish_reason": finish, "stop_reason": nil}
		} else {
			choice = map[string]any{"index": 0, "text": text, "logprobs": nil, "finish_reason": finish,
				"stop_reason": nil, "prompt_logprobs": nil}
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": obj, "created": now, "model": name,
			"choices": []any{choice}, "service_tier": nil, "system_fingerprint": nil, "usage": usage,
			"prompt_logprobs": nil, "kv_transfer_params": nil})
	}
}

func (s *server) metrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var b strings.Builder
	for _, n := range s.cfg.names[:1] {
		lbl := fmt.Sprintf(`{engine="0",model_name=%q}`, n)
		running, waiting := s.running.Load(), s.waiting.Load()
		kv := float64(running) * 0.05
		if kv > 1 {
			kv = 1
		}
		g := func(name, help string, v any) {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s%s %v\n", name, help, name, name, lbl, v)
		}
		c := func(name, help string, v any) {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n%s%s %v\n", name+"_total", help, name+"_total", name+"_total", lbl, v)
		}
		g("vllm:num_requests_running", "Number of requests in model execution batches.", running)
		g("vllm:num_requests_waiting", "Number of requests waiting to be processed.", waiting)
		g("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", kv)
		c("vllm:prompt_tokens", "Number of prefill tokens processed.", float64(s.promptTok.Load()))
		c("vllm:generation_tokens", "Number of generation tokens processed.", float64(s.genTok.Load()))
		fmt.Fprintf(&b, "# HELP vllm:request_success_total Count of successfully processed requests.\n# TYPE vllm:request_success_total counter\n")
		fmt.Fprintf(&b, "vllm:request_success_total{engine=\"0\",finished_reason=\"stop\",model_name=%q} %v\n", n, float64(s.success.Load()))
	}
	io.WriteString(w, b.String())
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"version": vllmVersion})
	})
	mux.HandleFunc("/metrics", s.metrics)
	mux.HandleFunc("/v1/models", s.guard(s.models))
	mux.HandleFunc("/v1/chat/completions", s.guard(s.complete(true)))
	mux.HandleFunc("/v1/completions", s.guard(s.complete(false)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
	})
	return s.accessLog(mux)
}

func pyRepr(m map[string]string, cfg config) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := []string{fmt.Sprintf("'model_tag': '%s'", cfg.model)}
	for _, k := range keys {
		if k == "--served-model-name" || k == "--api-key" {
			continue
		}
		key := strings.ReplaceAll(strings.TrimPrefix(k, "--"), "-", "_")
		if _, err := strconv.Atoi(m[k]); err == nil {
			parts = append(parts, fmt.Sprintf("'%s': %s", key, m[k]))
		} else if m[k] == "true" {
			parts = append(parts, fmt.Sprintf("'%s': True", key))
		} else {
			parts = append(parts, fmt.Sprintf("'%s': '%s'", key, m[k]))
		}
	}
	if len(cfg.names) > 1 || cfg.names[0] != cfg.model {
		parts = append(parts, fmt.Sprintf("'served_model_name': ['%s']", strings.Join(cfg.names, "', '")))
	}
	parts = append(parts, fmt.Sprintf("'model': '%s'", cfg.model))
	return "{" + strings.Join(parts, ", ") + "}"
}

func main() {
	args := os.Args[1:]
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-v") {
		fmt.Println(vllmVersion)
		return
	}
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
		fmt.Println("usage: vllm [-h] [-v] {chat,complete,serve,bench,collect-env,run-batch} ...")
		return
	}
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	} else if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(os.Stderr, "usage: vllm [-h] [-v] {chat,complete,serve,bench,collect-env,run-batch} ...")
		fmt.Fprintf(os.Stderr, "vllm: error: argument subparser: invalid choice: '%s' (choose from chat, complete, serve, bench, collect-env, run-batch)\n", args[0])
		os.Exit(2)
	}
	cfg := parseArgs(args)

	api("api_server.py:1896", "vLLM API server version "+vllmVersion)
	api("utils.py:253", "non-default args: "+pyRepr(cfg.args, cfg))
	api("model.py:547", "Resolved architecture: Qwen3ForCausalLM")
	api("model.py:1510", fmt.Sprintf("Using max model len %d", cfg.maxModelLen))
	api("scheduler.py:205", "Chunked prefill is enabled with max_num_batched_tokens=8192.")
	core("core.py:644", "Waiting for init message from front-end.")
	core("core.py:77", fmt.Sprintf("Initializing a V1 LLM engine (v%s) with config: model='%s', served_model_name=%s, max_seq_len=%d, tensor_parallel_size=1, dtype=torch.bfloat16",
		vllmVersion, cfg.model, cfg.names[0], cfg.maxModelLen))
	core("gpu_model_runner.py:2602", fmt.Sprintf("Starting to load model %s...", cfg.model))

	if os.Getenv("STANDIN_CRASH") == "1" || strings.EqualFold(os.Getenv("STANDIN_CRASH"), "true") {
		time.Sleep(time.Duration(envFloat("STANDIN_CRASH_DELAY", 0) * float64(time.Second)))
		coreErr("core.py:708", "EngineCore failed to start.")
		coreErr("core.py:708", "Traceback (most recent call last):")
		coreErr("core.py:708", `  File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/core.py", line 699, in run_engine_core`)
		coreErr("core.py:708", "    engine_core = EngineCoreProc(*args, **kwargs)")
		coreErr("core.py:708", `  File "/usr/local/lib/python3.12/dist-packages/vllm/v1/worker/gpu_worker.py", line 239, in determine_available_memory`)
		coreErr("core.py:708", "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.25 GiB of which 1.12 GiB is free. (vllmapp stand-in: STANDIN_CRASH=1)")
		lg.line(fmt.Sprintf("APIServer pid=%d", lg.pid), "ERROR", "", "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}")
		os.Exit(1)
	}

	s := &server{cfg: cfg, created: time.Now().Unix(),
		respDelay: time.Duration(envFloat("STANDIN_RESPONSE_DELAY_MS", 0) * float64(time.Millisecond))}
	addr := net.JoinHostPort(cfg.host, strconv.Itoa(cfg.port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		lg.line(fmt.Sprintf("APIServer pid=%d", lg.pid), "ERROR", "api_server.py:1921", fmt.Sprintf("OSError: [Errno 98] Address already in use (%s): %v", addr, err))
		os.Exit(1)
	}
	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "standin: serve:", err)
			os.Exit(1)
		}
	}()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	delay := time.Duration(envFloat("STANDIN_STARTUP_DELAY", 0) * float64(time.Second))
	extra, _ := strconv.Atoi(os.Getenv("STANDIN_LOG_LINES"))
	startupDone := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(startupDone)
		for i := 0; i < extra; i++ {
			core("gpu_model_runner.py:2640", fmt.Sprintf("Loading safetensors checkpoint shards: line %d of %d (stand-in filler)", i+1, extra))
		}
		select {
		case <-time.After(delay):
		case <-stop:
			return
		}
		core("default_loader.py:267", "Loading weights took 0.45 seconds")
		core("gpu_model_runner.py:2653", "Model loading took 1.1177 GiB and 0.812345 seconds")
		core("gpu_worker.py:298", "Available KV cache memory: 60.12 GiB")
		core("kv_cache_utils.py:1087", "GPU KV cache size: 562,864 tokens")
		core("kv_cache_utils.py:1091", fmt.Sprintf("Maximum concurrency for %d tokens per request: 13.74x", cfg.maxModelLen))
		core("core.py:210", fmt.Sprintf("init engine (profile, create kv cache, warmup model) took %.2f seconds", delay.Seconds()+0.5))
		api("loggers.py:147", "Engine 000: vllm cache_config_info with initialization after num_gpu_blocks is: 35179")
		api("api_server.py:1634", "Supported_tasks: ['generate']")
		if cfg.apiKey != "" {
			api("api_server.py:1680", "API key authentication is enabled for /v1 endpoints.")
		}
		api("api_server.py:1912", fmt.Sprintf("Starting vLLM API server on http://%s", addr))
		api("launcher.py:34", "Available routes are:")
		for _, r := range []string{"/health, Methods: GET", "/metrics, Methods: GET", "/ping, Methods: GET, POST", "/version, Methods: GET",
			"/v1/models, Methods: GET", "/v1/chat/completions, Methods: POST", "/v1/completions, Methods: POST"} {
			api("launcher.py:42", "Route: "+r)
		}
		api("", fmt.Sprintf("Started server process [%d]", lg.pid))
		api("", "Waiting for application startup.")
		s.ready.Store(true)
		api("", "Application startup complete.")
		if rate := envFloat("STANDIN_TICK_RATE", 0); rate > 0 {
			go tick(rate, stop)
		}
	}()

	<-sigs
	close(stop)
	<-startupDone
	api("", "Shutting down")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	api("", "Waiting for application shutdown.")
	api("", "Application shutdown complete.")
	api("", fmt.Sprintf("Finished server process [%d]", lg.pid))
}
