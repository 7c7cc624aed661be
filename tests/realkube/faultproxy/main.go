// faultproxy: kube-lite's fault injection in front of a real kube-apiserver, so the integration
// tests that inject faults run against the real server too (tests/realkube/run.sh).
//
//	faultproxy -upstream https://127.0.0.1:6443 -ca ca.crt [-listen 127.0.0.1:0]
//
// It listens on plain HTTP (loopback only), forwards every API request as it came (with the
// client's own credentials) and serves a subset of kube-lite's control endpoint under
// /kube-lite/v1/, with kube-lite's semantics (docs/kube-lite.md):
//
//	POST/GET/DELETE faults         rules: verbs, resources, namespace, name, latencyMs, code or
//	                               drop, afterApply, retryAfterSeconds, retryAfterHeader, count (rate must
//	                               be 1: no random draws; no users: run one proxy per client)
//	GET stats, POST stats/reset    requests by verb, resource and status code (a watch counts
//	                               once, when it starts)
//	POST watches/close             end every open watch ({"abort":true}: drop the connections)
//	POST refuse {"seconds":S}      close the API listener and its connections for S seconds
//	POST stop, POST start          the same until start: the server "goes away" and "comes back"
//	                               with its data (kube-lite is stopped and restarted instead)
//	GET listening                  answers once the API listener is up (no such call in kube-lite,
//	                               whose ready line says so)
//
// The control endpoint has its own listener, which stays up while the API refuses connections.
// A delayed request is forwarded after its delay even when its client has given up meanwhile,
// as kube-lite serves it: that is how a write lands after the client stopped waiting.
// The ready line on stdout is "faultproxy: listening on http://ADDR control http://ADDR".
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

type rule struct {
	ID           int      `json:"id"`
	Verbs        []string `json:"verbs,omitempty"`
	Resources    []string `json:"resources,omitempty"`
	Namespace    string   `json:"namespace,omitempty"`
	Name         string   `json:"name,omitempty"`
	LatencyMs    int      `json:"latencyMs,omitempty"`
	Code         int      `json:"code,omitempty"`
	Rate         *float64 `json:"rate,omitempty"`
	RetryAfter   *int     `json:"retryAfterSeconds,omitempty"`
	RetryHeader  string   `json:"retryAfterHeader,omitempty"`
	Drop         bool     `json:"drop,omitempty"`
	AfterApply   bool     `json:"afterApply,omitempty"`
	Count        *int     `json:"count,omitempty"`
	Hits         int      `json:"hits"`
	limited      bool
	remainingVal int
}

type counterKey struct {
	Verb     string
	Resource string
	Code     int
}

type proxy struct {
	upstream  string
	client    *http.Client
	mu        sync.Mutex
	rules     []*rule
	nextID    int
	counts    map[counterKey]int
	total     int
	watches   map[int]*watch
	nextW     int
	api       *http.Server
	addr      string        // the API listener's address, kept across refusals
	listening chan struct{} // closed while the API listener is up
}

type watch struct {
	cancel context.CancelFunc
	abort  bool
}

// request is what the fault rules and counters see of a request.
type request struct {
	verb, resource, namespace, name string
}

// classify maps a request onto the Kubernetes verb and resource, as the API server does.
func classify(r *http.Request) request {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var rest []string
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		rest = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		rest = parts[3:]
	default:
		return request{verb: "nonresource"}
	}
	q := request{}
	if len(rest) >= 2 && rest[0] == "namespaces" {
		if len(rest) == 2 { // a namespace itself
			q.resource, q.name = "namespaces", rest[1]
		} else {
			q.namespace, q.resource = rest[1], rest[2]
			if len(rest) >= 4 {
				q.name = rest[3]
			}
		}
	} else if len(rest) >= 1 {
		q.resource = rest[0]
		if len(rest) >= 2 {
			q.name = rest[1]
		}
	} else {
		return request{verb: "nonresource"}
	}
	w := r.URL.Query().Get("watch")
	switch r.Method {
	case http.MethodGet:
		switch {
		case w == "true" || w == "1":
			q.verb = "watch"
		case q.name != "":
			q.verb = "get"
		default:
			q.verb = "list"
		}
	case http.MethodPost:
		q.verb = "create"
	case http.MethodPut:
		q.verb = "update"
	case http.MethodPatch:
		q.verb = "patch"
	case http.MethodDelete:
		if q.name != "" {
			q.verb = "delete"
		} else {
			q.verb = "deletecollection"
		}
	default:
		q.verb = strings.ToLower(r.Method)
	}
	return q
}

func contains(list []string, s string) bool {
	if len(list) == 0 {
		return true
	}
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// verdict is what the rules decided for one request.
type verdict struct {
	delay       time.Duration
	code        int
	retryAfter  int    // -1: none
	retryHeader string // sent verbatim when set
	drop        bool   // close the connection without an answer
	afterApply  bool   // forward first, then answer with code or drop instead
}

// decide applies the rules in order: delays add up, the first error (or drop) wins.
func (p *proxy) decide(q request) (v verdict) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.rules {
		if r.limited && r.remainingVal == 0 {
			continue
		}
		if (q.verb == "nonresource" && len(r.Verbs) > 0) || !contains(r.Verbs, q.verb) ||
			!contains(r.Resources, q.resource) || (r.Namespace != "" && r.Namespace != q.namespace) ||
			(r.Name != "" && r.Name != q.name) {
			continue
		}
		r.Hits++
		if r.limited {
			r.remainingVal--
		}
		v.delay += time.Duration(r.LatencyMs) * time.Millisecond
		if (r.Code != 0 || r.Drop) && v.code == 0 && !v.drop {
			v.code, v.drop, v.retryHeader, v.afterApply = r.Code, r.Drop, r.RetryHeader, r.AfterApply
			v.retryAfter = -1
			if r.RetryAfter != nil {
				v.retryAfter = *r.RetryAfter
			}
		}
	}
	return
}

func (p *proxy) count(q request, code int) {
	p.mu.Lock()
	p.counts[counterKey{q.verb, q.resource, code}]++
	p.total++
	p.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, code int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// injected answers with an upstream-shaped Status, as kube-lite does.
func injected(w http.ResponseWriter, r *http.Request, q request, code, retryAfter int,
	retryHeader string) {
	reason, message := "BadRequest", "kube-lite injected fault"
	details := map[string]interface{}{}
	switch code {
	case 409:
		name := q.name
		if name == "" {
			var obj struct {
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			body, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(body, &obj)
			name = obj.Metadata.Name
		}
		reason = "Conflict"
		message = fmt.Sprintf("Operation cannot be fulfilled on %s %q: the object has been "+
			"modified; please apply your changes to the latest version and try again",
			q.resource, name)
		details["name"], details["kind"] = name, q.resource
		retryAfter = -1
	case 429:
		reason, message = "TooManyRequests", "Too many requests, please try again later."
		if retryAfter < 0 {
			retryAfter = 0
		}
	case 500:
		reason, message = "InternalError", "Internal error occurred: kube-lite injected fault"
		details["causes"] = []map[string]string{{"message": "kube-lite injected fault"}}
		retryAfter = -1
	case 503:
		reason = "ServiceUnavailable"
		message = "the server is currently unable to handle the request (kube-lite injected fault)"
	case 504:
		reason = "Timeout"
		message = "the server was unable to return a response in the time allotted " +
			"(kube-lite injected fault)"
	default:
		for c, n := range map[int]string{400: "BadRequest", 401: "Unauthorized", 403: "Forbidden",
			404: "NotFound", 410: "Expired", 422: "Invalid"} {
			if c == code {
				reason = n
			}
		}
		if code >= 500 && reason == "BadRequest" {
			reason = "InternalError"
		}
	}
	if retryAfter >= 0 {
		details["retryAfterSeconds"] = retryAfter
		if code == 429 || code == 503 || code == 504 {
			w.Header().Set("Retry-After", fmt.Sprint(retryAfter))
		}
	}
	if retryHeader != "" && (code == 429 || code == 503 || code == 504) {
		w.Header().Set("Retry-After", retryHeader)
	}
	st := map[string]interface{}{"kind": "Status", "apiVersion": "v1", "metadata": map[string]string{},
		"status": "Failure", "message": message, "reason": reason, "code": code}
	if len(details) > 0 {
		st["details"] = details
	}
	writeJSON(w, code, st)
}

var hopHeaders = map[string]bool{"Connection": true, "Keep-Alive": true, "Transfer-Encoding": true,
	"Te": true, "Trailer": true, "Upgrade": true, "Proxy-Connection": true, "Content-Length": true}

// applyUpstream serves a request upstream and discards the answer (for afterApply rules).
func (p *proxy) applyUpstream(q request, r *http.Request, body []byte) {
	up, err := http.NewRequest(r.Method, p.upstream+r.URL.RequestURI(), strings.NewReader(string(body)))
	if err != nil {
		return
	}
	for k, v := range r.Header {
		if !hopHeaders[k] {
			up.Header[k] = v
		}
	}
	up.ContentLength = int64(len(body))
	resp, err := p.client.Do(up)
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	p.count(q, resp.StatusCode)
}

func (p *proxy) forward(w http.ResponseWriter, r *http.Request, q request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	v := p.decide(q)
	if v.delay > 0 {
		// served after the delay even if the client has gone, as kube-lite does
		time.Sleep(v.delay)
	}
	if v.afterApply && (v.drop || v.code != 0) && q.verb != "watch" {
		p.applyUpstream(q, r, body) // a write is applied; the fault below replaces its answer
	}
	if v.drop {
		panic(http.ErrAbortHandler) // the request was read; nothing is answered
	}
	if v.code != 0 {
		p.count(q, v.code)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		injected(w, r, q, v.code, v.retryAfter, v.retryHeader)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wid int
	var wt *watch
	if q.verb == "watch" {
		wt = &watch{cancel: cancel}
		p.mu.Lock()
		p.nextW++
		wid = p.nextW
		p.watches[wid] = wt
		p.mu.Unlock()
		defer func() {
			p.mu.Lock()
			delete(p.watches, wid)
			p.mu.Unlock()
		}()
		go func() { // a client that goes away ends its watch upstream too
			select {
			case <-r.Context().Done():
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	up, err := http.NewRequestWithContext(ctx, r.Method, p.upstream+r.URL.RequestURI(),
		strings.NewReader(string(body)))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, v := range r.Header {
		if !hopHeaders[k] {
			up.Header[k] = v
		}
	}
	up.ContentLength = int64(len(body))
	resp, err := p.client.Do(up)
	if err != nil {
		p.count(q, http.StatusBadGateway)
		http.Error(w, "faultproxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	p.count(q, resp.StatusCode)
	for k, v := range resp.Header {
		if !hopHeaders[k] {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(resp.StatusCode)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush() // the head at once, as the API server sends a watch's before any event
	}
	buf := make([]byte, 32*1024)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if rerr != nil {
			break
		}
	}
	if wt != nil {
		p.mu.Lock()
		abort := wt.abort
		p.mu.Unlock()
		if abort {
			panic(http.ErrAbortHandler) // drops the connection without the final chunk
		}
	}
}

func (p *proxy) control(w http.ResponseWriter, r *http.Request, what string) {
	var in map[string]json.RawMessage
	body, _ := io.ReadAll(r.Body)
	switch {
	case what == "faults" && r.Method == http.MethodPost:
		var ru rule
		if err := json.Unmarshal(body, &ru); err != nil {
			writeJSON(w, 400, map[string]string{"error": "bad rule: " + err.Error()})
			return
		}
		if ru.Rate != nil && *ru.Rate != 1 {
			writeJSON(w, 400, map[string]string{"error": "faultproxy supports rate 1 only"})
			return
		}
		if ru.Code != 0 && (ru.Code < 400 || ru.Code > 599) {
			writeJSON(w, 400, map[string]string{"error": "code must be 400..599"})
			return
		}
		if ru.AfterApply && !ru.Drop && ru.Code == 0 {
			writeJSON(w, 400, map[string]string{"error": "afterApply needs code or drop"})
			return
		}
		if ru.Drop && ru.Code != 0 {
			writeJSON(w, 400, map[string]string{"error": "a rule has code or drop, not both"})
			return
		}
		if len(ru.RetryHeader) > 39 || strings.ContainsAny(ru.RetryHeader, "\r\n") {
			writeJSON(w, 400, map[string]string{"error": "retryAfterHeader: up to 39 characters, one line"})
			return
		}
		if ru.Count != nil {
			ru.limited, ru.remainingVal = true, *ru.Count
		}
		p.mu.Lock()
		p.nextID++
		ru.ID = p.nextID
		p.rules = append(p.rules, &ru)
		p.mu.Unlock()
		writeJSON(w, 201, map[string]int{"id": ru.ID})
	case what == "faults" && r.Method == http.MethodGet:
		type listed struct {
			*rule
			Remaining *int `json:"remaining,omitempty"`
		}
		out := struct {
			Faults []listed `json:"faults"`
		}{Faults: []listed{}}
		p.mu.Lock()
		for _, ru := range p.rules {
			l := listed{rule: ru}
			if ru.limited {
				n := ru.remainingVal
				l.Remaining = &n
			}
			out.Faults = append(out.Faults, l)
		}
		p.mu.Unlock()
		writeJSON(w, 200, out)
	case what == "faults" && r.Method == http.MethodDelete:
		p.mu.Lock()
		p.rules = nil
		p.mu.Unlock()
		writeJSON(w, 200, map[string]bool{"ok": true})
	case what == "stats" && r.Method == http.MethodGet:
		type entry struct {
			Verb     string `json:"verb"`
			Resource string `json:"resource"`
			Code     int    `json:"code"`
			Count    int    `json:"count"`
		}
		out := struct {
			Total    int     `json:"total"`
			Requests []entry `json:"requests"`
		}{Requests: []entry{}}
		p.mu.Lock()
		out.Total = p.total
		for k, n := range p.counts {
			out.Requests = append(out.Requests, entry{k.Verb, k.Resource, k.Code, n})
		}
		p.mu.Unlock()
		writeJSON(w, 200, out)
	case (what == "stats/reset" && r.Method == http.MethodPost) ||
		(what == "stats" && r.Method == http.MethodDelete):
		p.mu.Lock()
		p.counts, p.total = map[counterKey]int{}, 0
		p.mu.Unlock()
		writeJSON(w, 200, map[string]bool{"ok": true})
	case what == "watches/close" && r.Method == http.MethodPost:
		abort := false
		if json.Unmarshal(body, &in) == nil && in["abort"] != nil {
			_ = json.Unmarshal(in["abort"], &abort)
		}
		p.mu.Lock()
		n := len(p.watches)
		for _, wt := range p.watches {
			wt.abort = abort
			wt.cancel()
		}
		p.mu.Unlock()
		writeJSON(w, 200, map[string]int{"closed": n})
	case what == "refuse" && r.Method == http.MethodPost:
		var in struct {
			Seconds float64 `json:"seconds"`
		}
		if err := json.Unmarshal(body, &in); err != nil || in.Seconds < 0 {
			writeJSON(w, 400, map[string]string{"error": "refuse wants {\"seconds\":S}"})
			return
		}
		p.refuse(in.Seconds)
		writeJSON(w, 200, map[string]bool{"ok": true})
	case what == "stop" && r.Method == http.MethodPost:
		p.stopAPI()
		writeJSON(w, 200, map[string]bool{"ok": true})
	case what == "start" && r.Method == http.MethodPost:
		p.startAPI()
		writeJSON(w, 200, map[string]bool{"ok": true})
	case what == "listening" && r.Method == http.MethodGet:
		// answers once the API listener is up (at once when it is)
		p.mu.Lock()
		ch := p.listening
		p.mu.Unlock()
		select {
		case <-ch:
			writeJSON(w, 200, map[string]string{"url": "http://" + p.addr})
		case <-r.Context().Done():
		}
	default:
		writeJSON(w, 404, map[string]string{"error": "faultproxy does not offer " + r.Method + " " + what})
	}
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.forward(w, r, classify(r))
}

// controlHandler serves /kube-lite/v1/ on its own listener, which stays up while the API
// listener refuses connections.
type controlHandler struct{ p *proxy }

func (c controlHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	what, ok := strings.CutPrefix(r.URL.Path, "/kube-lite/v1/")
	if !ok {
		writeJSON(w, 404, map[string]string{"error": "the control endpoint is under /kube-lite/v1/"})
		return
	}
	c.p.control(w, r, what)
}

// serveAPI listens on addr and serves the API there until refuse() stops it.
func (p *proxy) serveAPI(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: p}
	p.mu.Lock()
	p.api = srv
	if p.listening == nil {
		p.listening = make(chan struct{})
	}
	select {
	case <-p.listening: // already up
	default:
		close(p.listening) // wakes those waiting in GET listening
	}
	p.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return ln, nil
}

// stopAPI closes the API listener and every API connection (the control endpoint stays up).
func (p *proxy) stopAPI() {
	p.mu.Lock()
	srv := p.api
	p.api = nil
	select {
	case <-p.listening:
		p.listening = make(chan struct{})
	default: // down already
	}
	p.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// startAPI listens on the API address again (retrying while the port is being released).
func (p *proxy) startAPI() {
	p.mu.Lock()
	up := p.api != nil
	p.mu.Unlock()
	for !up {
		if _, err := p.serveAPI(p.addr); err == nil {
			fmt.Printf("faultproxy: listening again on http://%s\n", p.addr)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// refuse stops the API for the given time (kube-lite's "apiserver restart").
func (p *proxy) refuse(seconds float64) {
	p.stopAPI()
	go func() {
		time.Sleep(time.Duration(seconds * float64(time.Second)))
		p.startAPI()
	}()
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address of the API (plain HTTP)")
	controlListen := flag.String("control-listen", "127.0.0.1:0", "address of the control endpoint")
	upstream := flag.String("upstream", "", "the API server's URL")
	caFile := flag.String("ca", "", "CA certificate of the API server")
	flag.Parse()
	if *upstream == "" || *caFile == "" {
		log.Fatal("faultproxy: -upstream and -ca are required")
	}
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		log.Fatalf("faultproxy: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		log.Fatalf("faultproxy: no certificate in %s", *caFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true,
		MaxIdleConnsPerHost: 64}
	p := &proxy{upstream: strings.TrimRight(*upstream, "/"), client: &http.Client{Transport: tr},
		counts: map[counterKey]int{}, watches: map[int]*watch{}}
	ln, err := p.serveAPI(*listen)
	if err != nil {
		log.Fatalf("faultproxy: %v", err)
	}
	p.addr = ln.Addr().String()
	cln, err := net.Listen("tcp", *controlListen)
	if err != nil {
		log.Fatalf("faultproxy: %v", err)
	}
	fmt.Printf("faultproxy: listening on http://%s control http://%s\n", p.addr, cln.Addr())
	os.Stdout.Sync()
	log.Fatal(http.Serve(cln, controlHandler{p}))
}
