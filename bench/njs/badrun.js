// The BadRun filter as an nginx+njs user would write it: GET /runs is
// fetched whole by a subrequest, and for an old client (an integer
// Opentrons-Version below 5) parsed, its bad runs dropped, meta.totalLength
// and links.current fixed, and serialised again. Other clients get the
// upstream's body as it came. bench/run measures it as a peer of otcompat.

function isOld(v) {
    if (v === undefined) {
        return false;
    }
    v = v.trim();
    return /^[0-9]+$/.test(v) && parseInt(v, 10) < 5;
}

function filter(text) {
    var list = JSON.parse(text);
    var bad = {};
    var kept = [];
    (list.data || []).forEach(function (run) {
        if (run.ok === false || 'dataError' in run) {
            bad[run.id] = true;
        } else {
            kept.push(run);
        }
    });
    list.data = kept;
    if (list.meta) {
        list.meta.totalLength = kept.length;
    }
    var cur = list.links && list.links.current;
    if (cur && bad[String(cur.href).replace(/^\/runs\//, '')]) {
        delete list.links.current;
    }
    return JSON.stringify(list);
}

async function runs(r) {
    var reply = await r.subrequest('/_upstream' + r.uri, { args: r.variables.args || '' });
    var body = reply.responseText;
    if (reply.status === 200 && r.method === 'GET' && isOld(r.headersIn['Opentrons-Version'])) {
        try {
            body = filter(body);
        } catch (e) {
            r.error('badrun: ' + e);
        }
    }
    var type = reply.headersOut['Content-Type'];
    if (type) {
        r.headersOut['Content-Type'] = type;
    }
    r.return(reply.status, body);
}

export default { runs };
