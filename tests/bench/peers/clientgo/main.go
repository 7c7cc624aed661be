// Command clientgo is the client-go contender of tests/bench/election_bench.py: one candidate in
// a leader election run by k8s.io/client-go/tools/leaderelection on a coordination.k8s.io/v1
// Lease (resourcelock.LeaseLock).
//
//	clientgo --kubeconfig KC --namespace NS --lock NAME --identity ID \
//	    [--lease 2 --renew 1.5 --retry 0.5]
//
// It prints one line per event on stdout, each prefixed by the wall clock in ms:
//
//	leader <holder>|-    the holder it observes changed (OnNewLeader; "-" for nobody)
//	granted <identity>   it became leader (OnStartedLeading)
//	revoked              it lost leadership (OnStoppedLeading); it then runs the election again
//	stopped              after SIGTERM or SIGINT: the context was cancelled, the lease released
//	                     (ReleaseOnCancel) if it was held; it then exits 0
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// printer writes the event lines; callbacks run on goroutines of their own.
type printer struct {
	mu     sync.Mutex
	leader string
	shown  bool
}

func (p *printer) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lineLocked(format, args...)
}

func (p *printer) lineLocked(format string, args ...any) {
	fmt.Fprintf(os.Stdout, "%d %s\n", time.Now().UnixMilli(), fmt.Sprintf(format, args...))
}

// holder prints a "leader" line when the observed holder differs from the last one printed, so
// that a new round of the election (a new LeaderElector) does not repeat it.
func (p *printer) holder(identity string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown && identity == p.leader {
		return
	}
	p.leader, p.shown = identity, true
	if identity == "" {
		identity = "-"
	}
	p.lineLocked("leader %s", identity)
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second))
}

func run() error {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file")
	namespace := flag.String("namespace", "default", "namespace of the Lease")
	lock := flag.String("lock", "", "name of the Lease")
	identity := flag.String("identity", "", "this candidate's identity")
	lease := flag.Float64("lease", 2, "lease duration, s")
	renew := flag.Float64("renew", 1.5, "renew deadline, s")
	retry := flag.Float64("retry", 0.5, "retry period, s")
	flag.Parse()
	if *kubeconfig == "" || *lock == "" || *identity == "" || flag.NArg() != 0 {
		flag.Usage()
		return errors.New("--kubeconfig, --lock and --identity are required")
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", *kubeconfig, err)
	}
	// Typed clients send protobuf unless a content type is set; kube-lite speaks JSON only.
	cfg.ContentType = "application/json"
	// client-go takes no credentials from a kubeconfig whose server is plain http://; the
	// benchmark's servers are plain HTTP on loopback (kube-lite, or kube-lite as a proxy in front of
	// the real kube-apiserver, which forwards each client's own credentials), so the context's token
	// goes in the header here.
	if token := plainToken(*kubeconfig); token != "" && strings.HasPrefix(cfg.Host, "http://") {
		cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
			return bearer{token, rt}
		}
	}
	client, err := coordinationv1.NewForConfig(cfg)
	if err != nil {
		return err
	}

	// SIGTERM or SIGINT cancels the context: the elector stops renewing and, holding the lease,
	// releases it before Run returns.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	out := &printer{}
	for ctx.Err() == nil {
		// A LeaderElector runs one term at most: after a lost lease, a new one joins again.
		var led bool
		var mu sync.Mutex
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: &resourcelock.LeaseLock{
				LeaseMeta:  metav1.ObjectMeta{Name: *lock, Namespace: *namespace},
				Client:     client,
				LockConfig: resourcelock.ResourceLockConfig{Identity: *identity},
			},
			LeaseDuration:   seconds(*lease),
			RenewDeadline:   seconds(*renew),
			RetryPeriod:     seconds(*retry),
			ReleaseOnCancel: true,
			Name:            *lock,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(context.Context) {
					mu.Lock()
					led = true
					mu.Unlock()
					out.line("granted %s", *identity)
				},
				// Called whenever Run returns, leading or not; a cancelled context is a stop, not
				// a loss, and is reported as "stopped" below.
				OnStoppedLeading: func() {
					mu.Lock()
					wasLeader := led
					mu.Unlock()
					if wasLeader && ctx.Err() == nil {
						out.line("revoked")
					}
				},
				OnNewLeader: out.holder,
			},
		})
		if err != nil {
			return err
		}
		le.Run(ctx)
	}
	out.line("stopped")
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "clientgo: %v\n", err)
		os.Exit(2)
	}
}

// bearer adds "Authorization: Bearer <token>" to every request without one.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.next.RoundTrip(r)
}

// plainToken is the bearer token of the kubeconfig's current context ("" for none).
func plainToken(path string) string {
	raw, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return ""
	}
	c, ok := raw.Contexts[raw.CurrentContext]
	if !ok {
		return ""
	}
	if ai, ok := raw.AuthInfos[c.AuthInfo]; ok {
		return ai.Token
	}
	return ""
}
