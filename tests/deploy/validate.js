// SPDX-License-Identifier: MIT
// validate.js - checks rendered Kubernetes manifests and the Dockerfile offline, in three ways:
//  1. schema: every object is validated with the npm package kubernetes-models, whose
//     validators are generated from Kubernetes' own OpenAPI schema (types, required fields,
//     enums, formats). An apiVersion/kind it has no model for is an error. Like kubectl's
//     client-side check, it does not reject unknown fields, so 2. checks the fields that
//     matter to dobjd by name.
//  2. policy: each Deployment running dobjd has one replica, the migrate init container,
//     probes on /healthz and /readyz, resources, the hardened securityContext, scrape
//     annotations and a grace period longer than the drain.
//  3. dobjd's interface: container args, DOBJ_* env names (also ConfigMap keys fed through
//     envFrom), and the Dockerfile's ENTRYPOINT/CMD/ENV must be what `dobjd --help` lists;
//     deploy/README.md must document every flag and variable.
// Usage: node validate.js --help-file F [--dockerfile F] [--readme F] rendered.yaml...
// Exits 1 after listing every problem, 0 if there are none.
'use strict';

const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

const problems = [];
const problem = (where, msg) => problems.push(`${where}: ${msg}`);

function parseArgs(argv) {
	const o = { files: [] };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (a === '--help-file' || a === '--dockerfile' || a === '--readme')
			o[a.slice(2)] = argv[++i];
		else
			o.files.push(a);
	}
	if (!o['help-file'])
		throw new Error('usage: validate.js --help-file F [--dockerfile F] [--readme F] files...');
	return o;
}

// --- dobjd --help -----------------------------------------------------------------------
function parseHelp(text) {
	const flags = new Set(), envs = new Set(), commands = new Set();
	for (const line of text.split('\n')) {
		const f = /^\s+(--[a-z0-9-]+)\s+(DOBJ_[A-Z0-9_]+)\s/.exec(line);
		if (f) {
			flags.add(f[1]);
			envs.add(f[2]);
			continue;
		}
		// "usage: dobjd [serve] [flags]   ..." / "       dobjd migrate status   ..."
		const u = /^(?:usage:)?\s*dobjd\s+(.*?)(?:\s{2,}|$)/.exec(line);
		if (!u)
			continue;
		const words = [];
		let optional = null;
		for (const w of u[1].split(/\s+/)) {
			if (w.startsWith('--') || w === '[flags]' || w === '|' || w === '')
				break;
			const m = /^\[([a-z]+)\]$/.exec(w);
			if (m)
				optional = m[1];
			else
				words.push(w);
		}
		commands.add(words.join(' '));
		if (optional)
			commands.add([...words, optional].join(' '));
	}
	if (flags.size < 3 || commands.size < 2)
		throw new Error('could not read the flags and commands from dobjd --help');
	return { flags, envs, commands };
}

function checkArgs(where, args, dobjd) {
	const words = [];
	for (let i = 0; i < args.length; i++) {
		const a = String(args[i]);
		if (a.startsWith('--')) {
			const name = a.split('=')[0];
			if (!dobjd.flags.has(name))
				problem(where, `flag ${name} is not one that dobjd --help lists`);
			if (!a.includes('='))
				i++; // its value
		} else {
			words.push(a);
		}
	}
	const cmd = words.join(' ');
	if (!dobjd.commands.has(cmd))
		problem(where, `command "${cmd}" is not one that dobjd --help lists ` +
			`(${[...dobjd.commands].map((c) => `"${c}"`).join(', ')})`);
}

function checkEnvName(where, name, dobjd) {
	if (name.startsWith('DOBJ_') && !dobjd.envs.has(name))
		problem(where, `environment variable ${name} is not one that dobjd --help lists`);
}

// --- schema -----------------------------------------------------------------------------
function modelFor(apiVersion, kind) {
	const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
	const mod = group ? `kubernetes-models/${group}/${version}/${kind}`
		: `kubernetes-models/${version}/${kind}`;
	try {
		return require(mod)[kind] || null;
	} catch (e) {
		return null;
	}
}

function checkSchema(where, obj) {
	if (!obj || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
		problem(where, 'not a Kubernetes object (no apiVersion or kind)');
		return;
	}
	const Model = modelFor(obj.apiVersion, obj.kind);
	if (!Model) {
		problem(where, `no Kubernetes schema for apiVersion ${obj.apiVersion}, kind ${obj.kind}`);
		return;
	}
	try {
		new Model(obj).validate();
	} catch (e) {
		problem(where, `schema: ${e.message}`);
	}
	if (!obj.metadata || !obj.metadata.name)
		problem(where, 'metadata.name is missing');
}

// --- dobjd's containers -----------------------------------------------------------------
const isDobjd = (c) => typeof c.image === 'string' && /(^|\/)dobjd(:|@|$)/.test(c.image);

function podSpecOf(obj) {
	if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(obj.kind))
		return obj.spec && obj.spec.template && obj.spec.template.spec;
	if (obj.kind === 'CronJob')
		return obj.spec && obj.spec.jobTemplate && obj.spec.jobTemplate.spec &&
			obj.spec.jobTemplate.spec.template && obj.spec.jobTemplate.spec.template.spec;
	if (obj.kind === 'Pod')
		return obj.spec;
	return null;
}

function checkContainer(where, c, configMaps, dobjd) {
	if (c.command !== undefined &&
		!(Array.isArray(c.command) && c.command.length === 1 &&
			c.command[0] === '/usr/local/bin/dobjd'))
		problem(where, `command ${JSON.stringify(c.command)} is not the image's dobjd`);
	checkArgs(where, c.args || [], dobjd);
	let dsn = false;
	for (const e of c.env || []) {
		checkEnvName(`${where} env`, e.name, dobjd);
		if (e.name === 'DOBJ_DATABASE_URL') {
			dsn = true;
			if (!(e.valueFrom && e.valueFrom.secretKeyRef))
				problem(where, 'DOBJ_DATABASE_URL must come from a Secret (secretKeyRef)');
		}
	}
	for (const ef of c.envFrom || []) {
		if (!ef.configMapRef)
			continue;
		const cm = configMaps.get(ef.configMapRef.name);
		if (!cm) {
			problem(where, `envFrom ConfigMap ${ef.configMapRef.name} is not in the manifests`);
			continue;
		}
		for (const key of Object.keys(cm.data || {})) {
			const p = ef.prefix || '';
			if (!(p + key).startsWith('DOBJ_'))
				problem(`${where} envFrom ${cm.metadata.name}`,
					`${p + key} is not a DOBJ_* variable; dobjd ignores it`);
			checkEnvName(`${where} envFrom ${cm.metadata.name}`, p + key, dobjd);
			if (p + key === 'DOBJ_DATABASE_URL')
				problem(where, 'DOBJ_DATABASE_URL must come from a Secret, not a ConfigMap');
		}
	}
	if (!dsn)
		problem(where, 'DOBJ_DATABASE_URL is not set (secretKeyRef)');
}

function checkHardened(where, c, pod) {
	const sc = c.securityContext || {};
	const psc = pod.securityContext || {};
	const nonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
	const uid = sc.runAsUser ?? psc.runAsUser;
	const seccomp = (sc.seccompProfile || psc.seccompProfile || {}).type;
	if (nonRoot !== true)
		problem(where, 'securityContext.runAsNonRoot is not true');
	if (uid !== 10001)
		problem(where, 'securityContext.runAsUser is not 10001 (the image\'s user)');
	if (sc.readOnlyRootFilesystem !== true)
		problem(where, 'securityContext.readOnlyRootFilesystem is not true');
	if (sc.allowPrivilegeEscalation !== false)
		problem(where, 'securityContext.allowPrivilegeEscalation is not false');
	if (!(sc.capabilities && Array.isArray(sc.capabilities.drop) &&
		sc.capabilities.drop.includes('ALL')))
		problem(where, 'securityContext.capabilities.drop does not include ALL');
	if (seccomp !== 'RuntimeDefault')
		problem(where, 'seccompProfile.type is not RuntimeDefault');
	const r = c.resources || {};
	for (const k of ['requests', 'limits'])
		for (const res of ['cpu', 'memory'])
			if (!(r[k] && r[k][res] !== undefined))
				problem(where, `resources.${k}.${res} is not set`);
}

function checkProbe(where, probe, wantPath) {
	const g = probe && probe.httpGet;
	if (!g)
		problem(where, `no httpGet probe on ${wantPath}`);
	else if (g.path !== wantPath || !(g.port === 'http' || g.port === 9700))
		problem(where, `probe is ${g.path} on ${g.port}, not ${wantPath} on http (9700)`);
}

function checkDeployment(where, obj, pod, configMaps, dobjd) {
	const main = (pod.containers || []).filter(isDobjd);
	if (main.length === 0)
		return;
	if (obj.kind === 'Deployment' && obj.spec.replicas !== 1)
		problem(where, 'replicas must be 1 until cluster mode (object leases) exists');
	const ann = (obj.spec.template.metadata || {}).annotations || {};
	if (ann['prometheus.io/scrape'] !== 'true' || ann['prometheus.io/port'] !== '9700')
		problem(where, 'no Prometheus scrape annotations for port 9700');
	if (!(pod.terminationGracePeriodSeconds >= 45))
		problem(where, 'terminationGracePeriodSeconds must exceed the drain timeout (30 s)');
	const init = (pod.initContainers || []).filter(isDobjd);
	if (!init.some((c) => (c.args || []).join(' ') === 'migrate'))
		problem(where, 'no init container running `dobjd migrate`');
	for (const c of [...init, ...main]) {
		const w = `${where} container ${c.name}`;
		checkContainer(w, c, configMaps, dobjd);
		checkHardened(w, c, pod);
	}
	for (const c of main) {
		checkProbe(`${where} container ${c.name} livenessProbe`, c.livenessProbe, '/healthz');
		checkProbe(`${where} container ${c.name} readinessProbe`, c.readinessProbe, '/readyz');
	}
}

// --- the Dockerfile and the operator docs -------------------------------------------------
function checkDockerfile(file, dobjd) {
	const text = fs.readFileSync(file, 'utf8').replace(/\\\n/g, ' ');
	const stages = text.split(/^FROM\s/m);
	const last = stages[stages.length - 1].split('\n');
	let entry = null, cmd = [], user = null;
	for (const raw of last) {
		const line = raw.trim();
		const m = /^(ENTRYPOINT|CMD|ENV|USER)\s+(.*)$/.exec(line);
		if (!m)
			continue;
		if (m[1] === 'ENTRYPOINT')
			entry = JSON.parse(m[2]);
		else if (m[1] === 'CMD')
			cmd = JSON.parse(m[2]);
		else if (m[1] === 'USER')
			user = m[2];
		else
			for (const kv of m[2].match(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g) || [])
				checkEnvName(`${file} ENV`, kv.split('=')[0], dobjd);
	}
	if (JSON.stringify(entry) !== '["/usr/local/bin/dobjd"]')
		problem(file, `ENTRYPOINT is ${JSON.stringify(entry)}, not ["/usr/local/bin/dobjd"]`);
	checkArgs(`${file} CMD`, cmd, dobjd);
	if (!user || user.split(':')[0] !== '10001')
		problem(file, `the final stage runs as ${user}, not uid 10001`);
}

function checkReadme(file, dobjd) {
	const text = fs.readFileSync(file, 'utf8');
	for (const name of [...dobjd.flags, ...dobjd.envs])
		if (!text.includes('`' + name + '`'))
			problem(file, `${name} (from dobjd --help) is not in the configuration table`);
}

function main() {
	const opt = parseArgs(process.argv.slice(2));
	const dobjd = parseHelp(fs.readFileSync(opt['help-file'], 'utf8'));
	let nobj = 0;

	for (const file of opt.files) {
		const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
		const objs = [];
		for (const d of docs) {
			if (d.errors.length > 0)
				problem(path.basename(file), `YAML: ${d.errors[0].message}`);
			else if (d.contents !== null)
				objs.push(d.toJS());
		}
		const configMaps = new Map(objs.filter((o) => o && o.kind === 'ConfigMap' && o.metadata)
			.map((o) => [o.metadata.name, o]));
		for (const obj of objs) {
			const where = `${path.basename(file)}: ${obj && obj.kind}/` +
				`${obj && obj.metadata && obj.metadata.name}`;
			nobj++;
			checkSchema(where, obj);
			const pod = obj && podSpecOf(obj);
			if (pod)
				checkDeployment(where, obj, pod, configMaps, dobjd);
		}
	}
	if (opt.dockerfile)
		checkDockerfile(opt.dockerfile, dobjd);
	if (opt.readme)
		checkReadme(opt.readme, dobjd);
	for (const p of problems)
		console.log(`not ok - ${p}`);
	console.log(`${nobj} objects in ${opt.files.length} files checked; ${problems.length} problems`);
	process.exit(problems.length === 0 ? 0 : 1);
}

main();
