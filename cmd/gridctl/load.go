package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/loadgen"
)

// newLoadCmd is `gridctl load`: the load harness (pkg/loadgen) against the
// stack gridctl finds, every caller with a token of its own minted with the
// development key.
func newLoadCmd(g *globals) *cobra.Command {
	var (
		cfg                 loadgen.Config
		rate                float64
		texts, refDir       string
		drain               time.Duration
		slowShare, unsatisf float64
		shares              = loadgen.DefaultShares
	)
	cmd := &cobra.Command{
		Use:   "load (--rate N | --max) [--duration D] [--seed S]",
		Short: "Drive the stack like a city: hotline orders, patrol reports and issues; department bots and callbacks",
		Long: "load sends hotline work orders (real texts: ../shared/data/messages when present, else the project's\n" +
			"corpus; a share of repeated reports of one place, 1 % emergencies), grid workers' patrol reports and\n" +
			"secretaries' 一指通办 issues at --rate per second (or --max: as fast as --in-flight calls allow) for\n" +
			"--duration. Department bots watch their tasks, sign for and complete them; the hotline calls back every\n" +
			"replied case. A call that fails with UNAVAILABLE (or DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED) is\n" +
			"sent again with the same request id. Progress every few seconds; at the end: accepted, errors by code,\n" +
			"p50/p99 of the submit call, then the bots' figures. Tokens are minted with the development key (--key-dir).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (rate > 0) == cfg.Max {
				return fmt.Errorf("give one of --rate N (above 0) or --max")
			}
			cfg.Rate = rate
			key, err := auth.SigningKey(g.keys())
			if err != nil {
				return fmt.Errorf("load mints a token per caller with the development key: %w (--key-dir)", err)
			}
			signer := auth.NewSigner(key)
			cfg.Token = func(p auth.Principal) (string, error) { return signer.Issue(p, 24*time.Hour) }
			cfg.IntakeAddr = g.settings().get(svcIntake.setting).value
			cfg.DispatchAddr = g.settings().get(svcDispatch.setting).value
			cfg.FeedbackAddr = g.settings().get(svcFeedback.setting).value
			if cfg.Transport, err = g.transport(); err != nil {
				return err
			}
			what := "--texts"
			if texts == "" {
				root := ""
				if rd := g.settings().runDir; rd != "" {
					root = filepath.Dir(rd)
				}
				shared := []string{os.Getenv("GRIDFLOW_SHARED_DIR")}
				if root != "" {
					shared = append(shared, filepath.Join(root, "..", "shared"))
				}
				if texts, what, err = loadgen.FindTexts(shared, root); err != nil {
					return err
				}
			}
			if cfg.Texts, err = loadgen.ReadTexts(texts); err != nil {
				return fmt.Errorf("texts: %w", err)
			}
			cfg.ReferenceDir, cfg.Shares, cfg.SlowShare, cfg.UnsatisfiedShare = refDir, shares, slowShare, unsatisf
			out := cmd.OutOrStdout()
			cfg.Progress = out
			offered := fmt.Sprintf("%g/s", rate)
			if cfg.Max {
				offered = fmt.Sprintf("max (%d in flight)", cfg.InFlight)
			}
			fmt.Fprintf(out, "load: %s for %s, seed %d, %d texts from %s (%s); intake %s, dispatch %s, feedback %s\n",
				offered, cfg.Duration, cfg.Seed, len(cfg.Texts), texts, what, cfg.IntakeAddr, cfg.DispatchAddr, cfg.FeedbackAddr)
			r, err := loadgen.Start(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			r.Submit(cmd.Context())
			if !cfg.NoBots || !cfg.NoCallbacks {
				r.Drain(cmd.Context(), drain)
			}
			s := r.Stop()
			fmt.Fprintln(out, s)
			if s.Accepted == 0 {
				return fmt.Errorf("no submission was accepted")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.Float64Var(&rate, "rate", 0, "submissions per second, sent on time whatever the answers (an open loop)")
	f.BoolVar(&cfg.Max, "max", false, "send as fast as --in-flight concurrent calls allow (a closed loop)")
	f.IntVar(&cfg.InFlight, "in-flight", 64, "submissions in flight at most")
	f.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long to submit")
	f.Uint64Var(&cfg.Seed, "seed", 1, "seed of the plan (kinds, texts, places)")
	f.StringVar(&cfg.Prefix, "prefix", "", "request id prefix (default LOAD-<seed>-<time>-)")
	f.StringVar(&texts, "texts", "", "JSON Lines file or directory of messages (default: ../shared/data/messages, else the project's corpus)")
	f.StringVar(&refDir, "reference-dir", os.Getenv("GRIDFLOW_REFERENCE_DIR"), "the stack's reference data directory (default $GRIDFLOW_REFERENCE_DIR, else the shipped defaults)")
	f.Float64Var(&shares.Repeat, "repeat-share", shares.Repeat, "share of work orders that report again a problem just reported at the same place")
	f.Float64Var(&shares.Patrol, "patrol-share", shares.Patrol, "share of submissions that are patrol reports")
	f.Float64Var(&shares.Issue, "issue-share", shares.Issue, "share of submissions that are 一指通办 issues")
	f.Float64Var(&shares.Emergency, "emergency-share", shares.Emergency, "share of new work orders that are emergencies")
	f.BoolVar(&cfg.NoBots, "no-bots", false, "no department bots")
	f.BoolVar(&cfg.NoCallbacks, "no-callbacks", false, "no callbacks")
	f.DurationVar(&cfg.AckDelay, "ack-delay", 3*time.Second, "a bot signs for a task within this")
	f.DurationVar(&cfg.CompleteDelay, "complete-delay", 5*time.Second, "and completes it within this after signing")
	f.Float64Var(&slowShare, "slow-share", 0.05, "share of tasks signed for only after --slow-delay")
	f.DurationVar(&cfg.SlowDelay, "slow-delay", 30*time.Second, "how long a slow department takes to sign for")
	f.Float64Var(&unsatisf, "unsatisfied-share", 0.03, "share of first callbacks that are unsatisfied (the case reopens)")
	f.DurationVar(&drain, "drain", 60*time.Second, "after submitting, let bots and callbacks finish for at most this")
	f.DurationVar(&cfg.ProgressEvery, "progress-every", 5*time.Second, "interval of the progress lines")
	return cmd
}
