// Package metrics defines the Prometheus metrics Switchboard exports on
// /metrics: notifications received, events logged, feed clients, action
// outcomes and Graph latency. Handler serves them, behind a bearer token
// when one is set. One Metrics value is created in main and handed
// to the packages that count; a nil *Metrics counts nothing, so libraries and
// tests need not set one up.
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds every collector.
type Metrics struct {
	// Notifications counts webhook requests by outcome (accepted, bad_request,
	// unauthorized, rate_limited, too_slow, too_large, unsupported_type,
	// method_not_allowed, log_error).
	Notifications *prometheus.CounterVec
	// Events counts events appended to the log by kind.
	Events *prometheus.CounterVec
	// Duplicates counts notifications the log dropped as redeliveries.
	Duplicates prometheus.Counter
	// WebhookSeconds is the webhook's latency, from request to 202.
	WebhookSeconds prometheus.Histogram
	// FeedClients is the number of connected feed clients.
	FeedClients prometheus.Gauge
	// FeedDropped counts feed clients disconnected for falling behind.
	FeedDropped prometheus.Counter
	// LiveCalls is the number of calls not yet terminated.
	LiveCalls prometheus.Gauge
	// Actions counts supervisor and automatic actions by verb and outcome.
	Actions *prometheus.CounterVec
	// GraphSeconds is the latency of each HTTP request to Graph by operation and status.
	GraphSeconds *prometheus.HistogramVec
	// Reconciled counts calls ended because Graph no longer knew them.
	Reconciled prometheus.Counter
	// Refused counts notifications answered 503 because they could not be
	// stored, by cause (nats_disconnected, no_stream_leader, timeout,
	// starting, other).
	Refused *prometheus.CounterVec
	// FollowErrors counts the times a replica lost the event log and
	// followed it again.
	FollowErrors prometheus.Counter
	// SaveErrors counts failed saves of the live view (retried).
	SaveErrors prometheus.Counter
	// Ready is 1 while the replica can store notifications and serve
	// consoles (what /readyz says), 0 otherwise.
	Ready prometheus.Gauge
	// Alerts counts alert events written, by rule and event (raised,
	// cleared, acknowledged): raises and clears by the replica that
	// evaluates the rules, acknowledgements by the one that took them.
	Alerts *prometheus.CounterVec
	// ActiveAlerts is the number of alerts the view's calls carry now.
	ActiveAlertsGauge prometheus.Gauge
}

// New creates the collectors and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_notifications_total",
			Help: "Graph notification requests received, by outcome."}, []string{"outcome"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_events_total",
			Help: "Events appended to the event log, by kind."}, []string{"kind"}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_duplicate_notifications_total",
			Help: "Notifications dropped by the log as redeliveries."}),
		WebhookSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "switchboard_webhook_seconds",
			Help: "Time from a notification request to its answer.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		FeedClients: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_feed_clients",
			Help: "Connected feed (websocket) clients."}),
		FeedDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_feed_slow_disconnects_total",
			Help: "Feed clients disconnected because they fell behind."}),
		LiveCalls: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_live_calls",
			Help: "Calls not yet terminated."}),
		Actions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_actions_total",
			Help: "Actions on calls, by verb and outcome."}, []string{"verb", "outcome"}),
		GraphSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchboard_graph_request_seconds",
			Help: "Latency of requests to Graph, by operation and HTTP status.", Buckets: prometheus.DefBuckets}, []string{"op", "status"}),
		Reconciled: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_reconciled_calls_total",
			Help: "Calls ended because Graph no longer knew them (ghost calls)."}),
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_notifications_refused_total",
			Help: "Notifications answered 503 because they could not be stored, by cause."}, []string{"cause"}),
		FollowErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_log_follow_errors_total",
			Help: "Times the replica lost the event log and followed it again."}),
		SaveErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_view_save_errors_total",
			Help: "Failed saves of the live view's state (each is retried)."}),
		Ready: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_ready",
			Help: "1 while the replica can store notifications and serve consoles (/readyz), else 0."}),
		Alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_alerts_total",
			Help: "Alert events written, by rule and event (raised, cleared, acknowledged)."}, []string{"rule", "event"}),
		ActiveAlertsGauge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_alerts_active",
			Help: "Alerts the live view's calls carry now."}),
	}
	reg.MustRegister(m.Notifications, m.Events, m.Duplicates, m.WebhookSeconds, m.FeedClients,
		m.FeedDropped, m.LiveCalls, m.Actions, m.GraphSeconds, m.Reconciled,
		m.Refused, m.FollowErrors, m.SaveErrors, m.Ready, m.Alerts, m.ActiveAlertsGauge)
	return m
}

// Notification counts one webhook request.
func (m *Metrics) Notification(outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.Notifications.WithLabelValues(outcome).Inc()
	m.WebhookSeconds.Observe(d.Seconds())
}

// Event counts one logged event.
func (m *Metrics) Event(kind string) {
	if m != nil {
		m.Events.WithLabelValues(kind).Inc()
	}
}

// Duplicate counts one redelivery dropped by the log.
func (m *Metrics) Duplicate() {
	if m != nil {
		m.Duplicates.Inc()
	}
}

// Action counts one action.
func (m *Metrics) Action(verb, outcome string) {
	if m != nil {
		m.Actions.WithLabelValues(verb, outcome).Inc()
	}
}

// Graph records one request to Graph; it fits graph.Config.Observe.
func (m *Metrics) Graph(op string, status int, d time.Duration) {
	if m != nil {
		m.GraphSeconds.WithLabelValues(op, strconv.Itoa(status)).Observe(d.Seconds())
	}
}

// FeedClient adds delta to the feed client gauge.
func (m *Metrics) FeedClient(delta float64) {
	if m != nil {
		m.FeedClients.Add(delta)
	}
}

// SlowClient counts one feed client dropped for falling behind.
func (m *Metrics) SlowClient() {
	if m != nil {
		m.FeedDropped.Inc()
	}
}

// Alert counts one alert event of rule.
func (m *Metrics) Alert(rule, event string) {
	if m != nil {
		m.Alerts.WithLabelValues(rule, event).Inc()
	}
}

// ActiveAlerts sets the number of active alerts.
func (m *Metrics) ActiveAlerts(n int) {
	if m != nil {
		m.ActiveAlertsGauge.Set(float64(n))
	}
}

// Live sets the number of live calls.
func (m *Metrics) Live(n int) {
	if m != nil {
		m.LiveCalls.Set(float64(n))
	}
}

// Reconcile counts one ghost call ended.
func (m *Metrics) Reconcile() {
	if m != nil {
		m.Reconciled.Inc()
	}
}

// Refuse counts one notification refused for cause.
func (m *Metrics) Refuse(cause string) {
	if m != nil {
		m.Refused.WithLabelValues(cause).Inc()
	}
}

// FollowError counts one recovery of the log follower.
func (m *Metrics) FollowError() {
	if m != nil {
		m.FollowErrors.Inc()
	}
}

// SaveError counts one failed save of the view.
func (m *Metrics) SaveError() {
	if m != nil {
		m.SaveErrors.Inc()
	}
}

// SetReady records what /readyz says.
func (m *Metrics) SetReady(ready bool) {
	if m != nil {
		v := 0.0
		if ready {
			v = 1
		}
		m.Ready.Set(v)
	}
}
