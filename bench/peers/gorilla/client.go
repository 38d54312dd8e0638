package main

import (
	"time"

	"github.com/gorilla/websocket"
)

const (
	// sendBuffer is the per-client outbound queue. The chat example uses
	// 256; benchmark bursts of 200 messages from each of several senders
	// need more before the hub's close-and-drop rule fires.
	sendBuffer = 1024

	// writeWait is the chat example's time allowed to write a message.
	writeWait = 10 * time.Second
)

// client is the chat example's Client: a reader goroutine feeding the hub
// and a writer goroutine draining send.
type client struct {
	hub  *hub
	conn *websocket.Conn
	send chan *websocket.PreparedMessage
}

// readPump prepares each message once and hands it to the hub. The default
// ping handler answers pings with a pong carrying the same data.
func (c *client) readPump() {
	defer func() {
		c.hub.unregister <- c
		c.conn.Close()
	}()
	for {
		mt, message, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		pm, err := websocket.NewPreparedMessage(mt, message)
		if err != nil {
			return
		}
		c.hub.broadcast <- pm
	}
}

// writePump writes each prepared message as its own message (the chat
// example's newline batching would change the messages). When the hub
// closes send it says goodbye with a close frame, as the example does.
func (c *client) writePump() {
	defer c.conn.Close()
	for pm := range c.send {
		c.conn.SetWriteDeadline(time.Now().Add(writeWait))
		if err := c.conn.WritePreparedMessage(pm); err != nil {
			return
		}
	}
	c.conn.SetWriteDeadline(time.Now().Add(writeWait))
	c.conn.WriteMessage(websocket.CloseMessage, []byte{})
}
