package fakeidp

import (
	"net/http"
	"sync"
	"time"
)

// KratosConfig configures the Kratos fake.
type KratosConfig struct {
	Exists []string
	// Hash is how long checking a password takes (for existing accounts).
	Hash time.Duration
	// RandomDelay is Kratos' mitigation for unknown identifiers: instead of
	// a hash, a random sleep of about Hash (here uniform in [Hash/4,
	// 7·Hash/4)). Without it, unknown identifiers are answered at once.
	RandomDelay bool
	// Courier is how long creating a recovery code and queueing its mail
	// takes, for existing addresses only.
	Courier time.Duration
}

// Kratos imitates Ory Kratos' public API for native clients: self-service
// login, registration and recovery API flows (GET /self-service/FLOW/api,
// then POST /self-service/FLOW?flow=ID), answering with the flow and its
// ui nodes and messages. Registration registers what it is sent and
// answers a known address 400 "exists already".
func Kratos(cfg KratosConfig) http.Handler {
	k := &kratos{cfg: cfg, accounts: NewAccounts(cfg.Exists), flows: map[string]string{}}
	handlers := map[string]http.HandlerFunc{}
	for flow, submit := range map[string]func(http.ResponseWriter, *http.Request, string, map[string]any){
		"login": k.login, "registration": k.register, "recovery": k.recover} {
		handlers["GET /self-service/"+flow+"/api"] = k.create(flow)
		handlers["POST /self-service/"+flow] = k.submit(flow, submit)
	}
	return routes(handlers)
}

type kratos struct {
	cfg KratosConfig

	mu       sync.Mutex
	accounts Accounts
	flows    map[string]string // id → type of flow
}

// kratosMessage is a ui text.
type kratosMessage struct {
	ID      int            `json:"id"`
	Text    string         `json:"text"`
	Type    string         `json:"type"`
	Context map[string]any `json:"context,omitempty"`
}

type kratosNode struct {
	Type       string          `json:"type"`
	Group      string          `json:"group"`
	Attributes map[string]any  `json:"attributes"`
	Messages   []kratosMessage `json:"messages"`
	Meta       map[string]any  `json:"meta"`
}

type kratosUI struct {
	Action   string          `json:"action"`
	Method   string          `json:"method"`
	Nodes    []kratosNode    `json:"nodes"`
	Messages []kratosMessage `json:"messages,omitempty"`
}

type kratosFlow struct {
	ID           string   `json:"id"`
	Type         string   `json:"type"`
	ExpiresAt    string   `json:"expires_at"`
	IssuedAt     string   `json:"issued_at"`
	RequestURL   string   `json:"request_url"`
	UI           kratosUI `json:"ui"`
	CreatedAt    string   `json:"created_at"`
	UpdatedAt    string   `json:"updated_at"`
	State        string   `json:"state"`
	RequestedAAL string   `json:"requested_aal,omitempty"`
	Refresh      *bool    `json:"refresh,omitempty"`
}

func input(group, name, typ, value string, label int, labelText string) kratosNode {
	attrs := map[string]any{"name": name, "type": typ, "required": typ != "submit" && typ != "hidden", "disabled": false, "node_type": "input"}
	if value != "" {
		attrs["value"] = value
	}
	return kratosNode{Type: "input", Group: group, Attributes: attrs, Messages: []kratosMessage{},
		Meta: map[string]any{"label": kratosMessage{ID: label, Text: labelText, Type: "info"}}}
}

func (k *kratos) flow(r *http.Request, typ, id, echo string) kratosFlow {
	t := time.Now().UTC()
	f := kratosFlow{ID: id, Type: "api", IssuedAt: t.Format(time.RFC3339Nano), ExpiresAt: t.Add(time.Hour).Format(time.RFC3339Nano),
		CreatedAt: t.Format(time.RFC3339Nano), UpdatedAt: t.Format(time.RFC3339Nano),
		RequestURL: baseURL(r) + "/self-service/" + typ + "/api",
		UI:         kratosUI{Action: baseURL(r) + "/self-service/" + typ + "?flow=" + id, Method: "POST"}}
	no := false
	switch typ {
	case "login":
		f.State, f.RequestedAAL, f.Refresh = "choose_method", "aal1", &no
		f.UI.Nodes = []kratosNode{input("default", "csrf_token", "hidden", "", 0, ""), input("default", "identifier", "text", echo, 1070002, "E-Mail"),
			input("password", "password", "password", "", 1070001, "Password"),
			input("password", "method", "submit", "password", 1010022, "Sign in with password")}
	case "registration":
		f.State = "choose_method"
		f.UI.Nodes = []kratosNode{input("password", "traits.email", "email", echo, 1070002, "E-Mail"),
			input("password", "password", "password", "", 1070001, "Password"),
			input("password", "method", "submit", "password", 1040001, "Sign up")}
	case "recovery":
		f.State = "choose_method"
		f.UI.Nodes = []kratosNode{input("code", "email", "email", echo, 1070007, "Email"),
			input("code", "method", "submit", "code", 1070005, "Submit")}
	}
	return f
}

func (k *kratos) create(typ string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := uuid()
		k.mu.Lock()
		k.flows[id] = typ
		k.mu.Unlock()
		writeJSON(w, http.StatusOK, k.flow(r, typ, id, ""))
	}
}

// submit checks the flow named by ?flow= and hands the decoded body on.
func (k *kratos) submit(typ string, handle func(http.ResponseWriter, *http.Request, string, map[string]any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("flow")
		k.mu.Lock()
		ok := k.flows[id] == typ
		k.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"code": 404, "status": "Not Found",
				"reason": "The requested resource could not be found", "message": "The requested resource could not be found"}})
			return
		}
		var body map[string]any
		if err := decodeJSON(r, &body); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": 400, "status": "Bad Request",
				"reason": "Unable to decode JSON payload", "message": "The request was malformed or contained invalid parameters"}})
			return
		}
		handle(w, r, id, body)
	}
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func (k *kratos) login(w http.ResponseWriter, r *http.Request, id string, body map[string]any) {
	identifier := str(body, "identifier")
	k.mu.Lock()
	known := k.accounts.has(identifier)
	k.mu.Unlock()
	switch {
	case known:
		time.Sleep(k.cfg.Hash) // the hash of a wrong password
	case k.cfg.RandomDelay:
		time.Sleep(randomDuration(k.cfg.Hash/4, k.cfg.Hash*7/4))
	}
	f := k.flow(r, "login", id, identifier)
	f.UI.Messages = []kratosMessage{{ID: 4000006, Type: "error", Context: map[string]any{},
		Text: "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number."}}
	writeJSON(w, http.StatusBadRequest, f)
}

func (k *kratos) register(w http.ResponseWriter, r *http.Request, id string, body map[string]any) {
	traits, _ := body["traits"].(map[string]any)
	email := str(traits, "email")
	time.Sleep(k.cfg.Hash) // the new password is hashed either way
	k.mu.Lock()
	known := k.accounts.has(email)
	k.accounts[email] = true
	k.mu.Unlock()
	if known {
		f := k.flow(r, "registration", id, email)
		f.UI.Messages = []kratosMessage{{ID: 4000007, Type: "error", Context: map[string]any{},
			Text: "An account with the same identifier (email, phone, username, ...) exists already."}}
		writeJSON(w, http.StatusBadRequest, f)
		return
	}
	identity := map[string]any{"id": uuid(), "schema_id": "default", "schema_url": baseURL(r) + "/schemas/ZGVmYXVsdA",
		"state": "active", "traits": map[string]any{"email": email}, "metadata_public": nil,
		"verifiable_addresses": []any{map[string]any{"id": uuid(), "value": email, "verified": false, "via": "email",
			"status": "pending", "created_at": now(), "updated_at": now()}},
		"created_at": now(), "updated_at": now()}
	writeJSON(w, http.StatusOK, map[string]any{"identity": identity,
		"continue_with": []any{map[string]any{"action": "show_verification_ui", "flow": map[string]any{"id": uuid(), "verifiable_address": email}}}})
}

func (k *kratos) recover(w http.ResponseWriter, r *http.Request, id string, body map[string]any) {
	email := str(body, "email")
	k.mu.Lock()
	known := k.accounts.has(email)
	k.mu.Unlock()
	if known {
		time.Sleep(k.cfg.Courier)
	}
	f := k.flow(r, "recovery", id, email)
	f.State = "sent_email"
	f.UI.Nodes = []kratosNode{input("code", "code", "text", "", 1070010, "Recovery code"),
		input("code", "method", "hidden", "code", 0, ""), input("code", "email", "submit", email, 1070008, "Resend code")}
	f.UI.Messages = []kratosMessage{{ID: 1060003, Type: "info",
		Text: "An email containing a recovery code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with."}}
	writeJSON(w, http.StatusOK, f)
}
