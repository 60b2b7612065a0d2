#!KAMAILIO
# The anchor of bench:compare (issue 12): browsers over WebSocket -> Kamailio (websocket,
# tm, rr) -> SIPp over UDP, rtpengine (userspace) converting RTP/SAVPF (ICE, DTLS) <->
# RTP/AVP. The same work as trapezoid's side: every INVITE is challenged (407, digest
# MD5, one static user as trapezoid's config has), no registrar. compare.mjs fills in the
# @NAME@ placeholders and starts `kamailio -DD -E -f <this file>`; it is
# bench/call-setup/kamailio.cfg.tpl plus auth.

debug=1
log_stderror=yes
memdbg=5
memlog=5
children=@CHILDREN@
tcp_children=@CHILDREN@
tcp_max_connections=4096
tcp_conn_wq_max=262144
auto_aliases=no
dns=no
rev_dns=no
listen=udp:127.0.0.1:@UDP_PORT@
listen=tcp:127.0.0.1:@WS_PORT@
tcp_accept_no_cl=yes
tcp_connection_lifetime=3605

mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "kex.so"
loadmodule "nathelper.so"
loadmodule "xhttp.so"
loadmodule "websocket.so"
loadmodule "rtpengine.so"
loadmodule "auth.so"

modparam("rr", "enable_double_rr", 1)
modparam("nathelper", "received_avp", "$avp(RECEIVED)")
modparam("rtpengine", "rtpengine_sock", "udp:127.0.0.1:@NG_PORT@")
modparam("auth", "secret", "@NONCE_SECRET@")

request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	route(WSDETECT);

	if (has_totag()) {
		route(WITHINDLG);
		exit;
	}
	if (is_method("CANCEL")) {
		if (t_check_trans()) {
			rtpengine_manage();
			route(RELAY);
		}
		exit;
	}
	if (is_method("OPTIONS")) {
		sl_send_reply("200", "OK");
		exit;
	}
	if (!is_method("INVITE")) {
		sl_send_reply("405", "Method Not Allowed");
		exit;
	}
	# Digest on every INVITE, as trapezoid's auth.required does (RFC 3261 §22.3).
	if (!pv_proxy_authenticate("$fd", "@PASSWORD@", "0")) {
		proxy_challenge("$fd", "0");
		exit;
	}
	if ($au != "@USER@") {
		sl_send_reply("403", "Forbidden");
		exit;
	}
	consume_credentials();
	t_check_trans();
	record_route();
	# Toward the trunk: plain RTP/AVP, no ICE, rtpengine's address in the SDP. The
	# browser's rtcp-mux is kept on its side and demultiplexed toward the trunk.
	if (has_body("application/sdp")) {
		rtpengine_manage("replace-origin replace-session-connection ICE=remove RTP/AVP rtcp-mux-demux");
	}
	$du = "sip:127.0.0.1:@SIPP_PORT@";
	t_on_reply("TOWARD_BROWSER");
	route(RELAY);
}

route[WSDETECT] {
	if (proto == WS || proto == WSS) {
		force_rport();
		if (is_method("INVITE")) {
			add_contact_alias();
		}
	}
}

route[WITHINDLG] {
	if (loose_route()) {
		if (!isdsturiset()) {
			handle_ruri_alias();
		}
		if (is_method("BYE")) {
			rtpengine_manage();
		}
		route(RELAY);
		exit;
	}
	if (is_method("ACK")) {
		if (t_check_trans()) {
			route(RELAY);
		}
		exit;
	}
	sl_send_reply("404", "Not here");
}

route[RELAY] {
	if (!t_relay()) {
		sl_reply_error();
	}
	exit;
}

# The trunk's answer toward the browser: WebRTC profile, ICE forced (rtpengine's answer
# is a full ICE agent's: it checks too, and the load client answers).
onreply_route[TOWARD_BROWSER] {
	if (has_body("application/sdp")) {
		rtpengine_manage("ICE=force RTP/SAVPF");
	}
}

onreply_route {
	if ((proto == WS || proto == WSS) && status =~ "[12][0-9][0-9]") {
		add_contact_alias();
	}
}

event_route[xhttp:request] {
	set_reply_close();
	set_reply_no_connect();
	if ($hdr(Upgrade) =~ "websocket" && $hdr(Connection) =~ "Upgrade" && $rm =~ "GET") {
		if (ws_handle_handshake()) {
			exit;
		}
	}
	xhttp_reply("404", "Not Found", "", "");
}
