package ui

import (
	"context"
	"errors"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/console"
)

// fetchTransport sends the console's REST requests with the browser's
// fetch, which sends the session cookie. Go's net/http client would do the
// same through fetch, but it links a whole HTTP/1 and HTTP/2 transport into
// the WebAssembly file: about 5 MB for nothing.
type fetchTransport struct{}

type fetchResult struct {
	resp console.Response
	err  error
}

// RoundTrip implements console.Transport.
func (fetchTransport) RoundTrip(ctx context.Context, r console.Request) (console.Response, error) {
	win := app.Window()
	opts := win.Get("Object").New()
	opts.Set("method", r.Method)
	opts.Set("credentials", "same-origin")
	headers := win.Get("Object").New()
	headers.Set("Accept", "application/json")
	if r.Body != nil {
		headers.Set("Content-Type", "application/json")
		opts.Set("body", string(r.Body))
	}
	opts.Set("headers", headers)
	abort := win.Get("AbortController").New()
	opts.Set("signal", abort.Get("signal"))

	// Either chain may fail; each callback sends at most once.
	done := make(chan fetchResult, 3)
	status := 0
	onError := app.FuncOf(func(this app.Value, args []app.Value) any {
		msg := "fetch failed"
		if len(args) > 0 && args[0].Truthy() {
			msg = args[0].Call("toString").String()
		}
		done <- fetchResult{err: errors.New(msg)}
		return nil
	})
	onText := app.FuncOf(func(this app.Value, args []app.Value) any {
		done <- fetchResult{resp: console.Response{Status: status, Body: []byte(args[0].String())}}
		return nil
	})
	onResponse := app.FuncOf(func(this app.Value, args []app.Value) any {
		status = args[0].Get("status").Int()
		args[0].Call("text").Call("then", onText).Call("catch", onError)
		return nil
	})
	defer func() {
		onError.Release()
		onText.Release()
		onResponse.Release()
	}()
	win.Call("fetch", r.URL, opts).Call("then", onResponse).Call("catch", onError)
	select {
	case res := <-done:
		return res.resp, res.err
	case <-ctx.Done():
		abort.Call("abort")
		<-done // the aborted fetch settles before its callbacks are released
		return console.Response{}, ctx.Err()
	}
}
