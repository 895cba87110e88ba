// psscheck evaluates every pod template in rendered Kubernetes YAML against the Pod Security
// Standards with k8s.io/pod-security-admission's own checks (policy.DefaultChecks()), the code the
// PodSecurity admission plugin runs.
//
//	psscheck [-level restricted] [-version latest] FILE.yaml...
//
// Output: one JSON object per pod template on stdout:
//
//	{"file":"...","object":"Deployment/x","template":"template","allowed":false,"reasons":["..."]}
//
// Exit 0 when every template was evaluated (pass or fail: the caller judges), 2 on bad input.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	sigyaml "sigs.k8s.io/yaml"
)

type podTemplate struct {
	Metadata metav1.ObjectMeta `json:"metadata"`
	Spec     corev1.PodSpec    `json:"spec"`
}

type result struct {
	File     string   `json:"file"`
	Object   string   `json:"object"`
	Template string   `json:"template"`
	Allowed  bool     `json:"allowed"`
	Reasons  []string `json:"reasons"`
}

func dig(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

// templates returns the pod templates of one object, by the path each workload kind keeps them at
// (LeaderWorkerSet's leader and worker included).
func templates(obj map[string]any) map[string]any {
	out := map[string]any{}
	switch obj["kind"] {
	case "Pod":
		out["pod"] = map[string]any{"metadata": obj["metadata"], "spec": obj["spec"]}
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job":
		out["template"] = dig(obj, "spec", "template")
	case "CronJob":
		out["template"] = dig(obj, "spec", "jobTemplate", "spec", "template")
	case "LeaderWorkerSet":
		out["leaderTemplate"] = dig(obj, "spec", "leaderWorkerTemplate", "leaderTemplate")
		out["workerTemplate"] = dig(obj, "spec", "leaderWorkerTemplate", "workerTemplate")
	}
	for k, v := range out {
		if v == nil {
			delete(out, k)
		}
	}
	return out
}

func main() {
	levelFlag := flag.String("level", "restricted", "baseline or restricted")
	versionFlag := flag.String("version", "latest", "policy version: latest or vX.Y")
	flag.Parse()
	level, err := psapi.ParseLevel(*levelFlag)
	if err != nil {
		fail(err)
	}
	version, err := psapi.ParseVersion(*versionFlag)
	if err != nil {
		fail(err)
	}
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		fail(err)
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	for _, file := range flag.Args() {
		data, err := os.ReadFile(file)
		if err != nil {
			fail(err)
		}
		dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var obj map[string]any
			if err := dec.Decode(&obj); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				fail(fmt.Errorf("%s: %w", file, err))
			}
			if obj == nil {
				continue
			}
			name, _ := dig(obj, "metadata", "name").(string)
			tpls := templates(obj)
			names := make([]string, 0, len(tpls))
			for tn := range tpls {
				names = append(names, tn)
			}
			sort.Strings(names)
			for _, tn := range names {
				raw := tpls[tn]
				b, err := sigyaml.Marshal(raw)
				if err != nil {
					fail(err)
				}
				var pt podTemplate
				if err := sigyaml.UnmarshalStrict(b, &pt); err != nil {
					fail(fmt.Errorf("%s: %s/%s#%s: %w", file, obj["kind"], name, tn, err))
				}
				res := policy.AggregateCheckResults(eval.EvaluatePod(psapi.LevelVersion{Level: level, Version: version}, &pt.Metadata, &pt.Spec))
				r := result{File: file, Object: fmt.Sprintf("%s/%s", obj["kind"], name), Template: tn, Allowed: res.Allowed, Reasons: []string{}}
				for i := range res.ForbiddenReasons {
					r.Reasons = append(r.Reasons, res.ForbiddenReasons[i]+" ("+res.ForbiddenDetails[i]+")")
				}
				if err := enc.Encode(r); err != nil {
					fail(err)
				}
			}
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "psscheck:", err)
	os.Exit(2)
}
