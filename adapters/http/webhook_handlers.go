package http

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

type webhookHandlers struct {
	webhooks  *application.Webhooks
	bodyLimit int64
}

// registerWebhooks adds the webhook routes: reads admit service accounts
// (the policy decides), changes are people's only, so no machine
// credential registers a receiver or learns a secret.
func registerWebhooks(api *echo.Group, svc *application.Webhooks, bodyLimit int64, bearer, person echo.MiddlewareFunc) {
	h := &webhookHandlers{webhooks: svc, bodyLimit: bodyLimit}
	api.GET("/webhooks", h.list, bearer)
	api.POST("/webhooks", h.create, person)
	api.GET("/webhooks/:id", h.get, bearer)
	api.PATCH("/webhooks/:id", h.update, person)
	api.DELETE("/webhooks/:id", h.delete, person)
	api.POST("/webhooks/:id/rotate-secret", h.rotateSecret, person)
	api.GET("/webhooks/:id/deliveries", h.deliveries, bearer)
	api.POST("/webhooks/:id/deliveries/:delivery_id/replay", h.replay, person)
}

type webhookRequest struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	OrgID       *string  `json:"org_id"`
	Description string   `json:"description"`
}

type webhookPatch struct {
	URL         *string   `json:"url"`
	Events      *[]string `json:"events"`
	Enabled     *bool     `json:"enabled"`
	Description *string   `json:"description"`
}

type webhookResponse struct {
	ID                      string     `json:"id"`
	OrgID                   *uuid.UUID `json:"org_id"`
	URL                     string     `json:"url"`
	Description             string     `json:"description"`
	Events                  []string   `json:"events"`
	Enabled                 bool       `json:"enabled"`
	DisabledReason          *string    `json:"disabled_reason"`
	FailingSince            *time.Time `json:"failing_since"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	CreatedBy               *uuid.UUID `json:"created_by"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

// webhookWithSecret is the one answer that carries the secret.
type webhookWithSecret struct {
	webhookResponse
	Secret string `json:"secret"`
}

func newWebhookResponse(e domain.WebhookEndpoint) webhookResponse {
	out := webhookResponse{ID: e.ID.String(), OrgID: e.OrgID, URL: e.URL, Description: e.Description, Events: e.Events,
		Enabled: e.Enabled, FailingSince: e.FailingSince, PreviousSecretExpiresAt: e.PreviousSecretExpiresAt,
		CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if out.Events == nil {
		out.Events = []string{}
	}
	if e.DisabledReason != "" {
		r := e.DisabledReason
		out.DisabledReason = &r
	}
	return out
}

type deliveryResponse struct {
	ID            string     `json:"id"`
	EndpointID    string     `json:"endpoint_id"`
	MessageID     string     `json:"message_id"`
	EventType     string     `json:"event_type"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	LastStatus    *int       `json:"last_status"`
	LastError     *string    `json:"last_error"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	CreatedAt     time.Time  `json:"created_at"`
	FinishedAt    *time.Time `json:"finished_at"`
	ReplayOf      *uuid.UUID `json:"replay_of"`
}

func newDeliveryResponse(d domain.WebhookDelivery) deliveryResponse {
	out := deliveryResponse{ID: d.ID.String(), EndpointID: d.EndpointID.String(), MessageID: domain.WebhookMessageID(d.MessageID),
		EventType: d.EventType, Status: d.Status, Attempts: d.Attempts, LastStatus: d.LastStatus,
		NextAttemptAt: d.NextAttemptAt, LastAttemptAt: d.LastAttemptAt, CreatedAt: d.CreatedAt, FinishedAt: d.FinishedAt,
		ReplayOf: d.ReplayOf}
	if d.LastError != "" {
		e := d.LastError
		out.LastError = &e
	}
	return out
}

func (h *webhookHandlers) create(c echo.Context) error {
	var req webhookRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	in := application.WebhookInput{URL: req.URL, Events: req.Events, Description: req.Description}
	if req.OrgID != nil {
		id, err := uuid.Parse(*req.OrgID)
		if err != nil {
			return domain.Invalid(domain.FieldError{Field: "org_id", Code: "invalid_uuid", Message: "must be a UUID"})
		}
		in.OrgID = &id
	}
	w, err := h.webhooks.Create(c.Request().Context(), principal(c), in)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/webhooks/"+w.Endpoint.ID.String())
	return c.JSON(http.StatusCreated, webhookWithSecret{webhookResponse: newWebhookResponse(w.Endpoint), Secret: w.Secret})
}

func (h *webhookHandlers) list(c echo.Context) error {
	q := &queryParams{c: c}
	org := q.uuid("org_id")
	page := q.page()
	if err := q.err(); err != nil {
		return err
	}
	es, next, err := h.webhooks.List(c.Request().Context(), principal(c), org, page)
	if err != nil {
		return err
	}
	out := make([]webhookResponse, len(es))
	for i, e := range es {
		out[i] = newWebhookResponse(e)
	}
	return list(c, out, next)
}

func (h *webhookHandlers) get(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrWebhookNotFound)
	if err != nil {
		return err
	}
	e, err := h.webhooks.Get(c.Request().Context(), principal(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newWebhookResponse(e))
}

func (h *webhookHandlers) update(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrWebhookNotFound)
	if err != nil {
		return err
	}
	var req webhookPatch
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	e, err := h.webhooks.Update(c.Request().Context(), principal(c), id, application.WebhookPatch(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newWebhookResponse(e))
}

func (h *webhookHandlers) delete(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrWebhookNotFound)
	if err != nil {
		return err
	}
	if err := h.webhooks.Delete(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *webhookHandlers) rotateSecret(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrWebhookNotFound)
	if err != nil {
		return err
	}
	w, err := h.webhooks.RotateSecret(c.Request().Context(), principal(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, webhookWithSecret{webhookResponse: newWebhookResponse(w.Endpoint), Secret: w.Secret})
}

func (h *webhookHandlers) deliveries(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrWebhookNotFound)
	if err != nil {
		return err
	}
	q := &queryParams{c: c}
	page := q.page()
	if err := q.err(); err != nil {
		return err
	}
	ds, next, err := h.webhooks.Deliveries(c.Request().Context(), principal(c), id, c.QueryParam("status"), page)
	if err != nil {
		return err
	}
	out := make([]deliveryResponse, len(ds))
	for i, d := range ds {
		out[i] = newDeliveryResponse(d)
	}
	return list(c, out, next)
}

func (h *webhookHandlers) replay(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrWebhookNotFound)
	if err != nil {
		return err
	}
	did, err := pathID(c, "delivery_id", domain.ErrDeliveryNotFound)
	if err != nil {
		return err
	}
	d, err := h.webhooks.Replay(c.Request().Context(), principal(c), id, did)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, newDeliveryResponse(d))
}
