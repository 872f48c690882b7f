// Shared by every page: the sign-in (a cookie, or an API token), the API, the live feed, the two languages.

const texts = {
  es: {
    signIn: 'Entrar', token: 'Token de acceso', username: 'Usuario o número de agente', password: 'Contraseña',
    badPassword: 'El usuario o la contraseña no son correctos.', lockedOut: 'Demasiados intentos fallidos: espera %s min o pide a un administrador que lo desbloquee.',
    useToken: 'Entrar con un token de acceso', users: 'Usuarios', addUser: 'Añadir usuario', role: 'Rol', roleAgent: 'agente',
    roleSupervisor: 'supervisor', roleAdmin: 'administrador', active: 'activo', disabled: 'desactivado', add: 'Añadir',
    resetPassword: 'Nueva contraseña', newPassword: 'Nueva contraseña (10 caracteres o más):', disable: 'Desactivar', enable: 'Activar',
    forbiddenTitle: 'Sin acceso', forbiddenText: 'Tu usuario no tiene permiso para esta página (403).', forbiddenHome: 'Ir a mi página',
    agentsPage: 'Agentes', readOnly: 'Solo lectura: los cambios los hace un administrador.', number: 'Número', name: 'Nombre', pin: 'PIN (4 a 12 cifras)',
    dialingRights: 'Números externos permitidos (patrones como _9XXXXXXXX _00.; vacío: solo colas y teléfonos)',
    skills: 'Habilidades', skill: 'Habilidad', level: 'Nivel', addSkill: 'Añadir habilidad', addAgent: 'Añadir agente', editAgent: 'Cambiar agente',
    edit: 'Cambiar', save: 'Guardar', cancel: 'Cancelar', pauseReasons: 'Motivos de pausa', reasonName: 'Nombre interno', code: 'Código (*47)',
    label: 'Texto', productive: 'Productiva', confirmRemoveAgent: '¿Quitar a %s? Con historial queda desactivado; sus sesiones y tokens terminan.', reasonNameRule: 'minúsculas, cifras y _, empezando por una letra',
    queuesPage: 'Colas', strategy: 'Estrategia', members: 'Miembros', recording: 'Grabación', addQueue: 'Añadir cola', editQueue: 'Cambiar cola',
    longest_idle: 'más tiempo libre', round_robin: 'rotación', fewest_calls: 'menos llamadas', ring_all: 'todos a la vez', skillsStrategy: 'por habilidades',
    queueLanguage: 'Idioma', ringTimeout: 'Timbre (s)', wrapUp: 'Posllamada (s)', maxWait: 'Espera máxima (s)', slThreshold: 'Umbral de nivel de servicio (s)',
    overflowAction: 'Al pasar la espera máxima', ofHangup: 'colgar', ofQueue: 'pasar a otra cola', ofFlow: 'pasar a un flujo IVR', ofMessage: 'dejar un mensaje',
    overflowQueue: 'Cola de desborde', overflowFlow: 'Flujo de desborde', messageSeconds: 'Duración máxima del mensaje (s)',
    announceEvery: 'Anunciar la posición cada (s, 0: nunca)', announcePosition: 'Decir la posición', announceEstimate: 'Decir la espera estimada',
    moh: 'Música en espera', recNever: 'nunca', recAlways: 'siempre', recOnDemand: 'a petición', recSample: 'Muestra grabada (%)',
    recRetention: 'Guardar grabaciones (días)', callbackKey: 'Tecla de devolución de llamada', overflowKey: 'Tecla de desborde',
    requiredSkills: 'Habilidades requeridas', penalty: 'Penalización', routing: 'Números y locuciones', didRoutes: 'Números de entrada (DID)',
    flow: 'Flujo IVR', queueDecides: 'lo decide la cola', prompts: 'Locuciones', usedBy: 'Usada en', wavFile: 'Archivo WAV', upload: 'Subir',
    didRule: 'cifras, con + delante si hace falta', sortBy: 'Ordenar por', tvMode: 'Modo TV', thresholds: 'Colores del panel',
    slAmber: 'Nivel de servicio: ámbar por debajo de (%)', slRed: 'Nivel de servicio: rojo por debajo de (%)', waitAmber: 'Espera más larga: ámbar desde (s)',
    waitRed: 'Espera más larga: rojo desde (s)', waitingAmber: 'En espera: ámbar desde', waitingRed: 'En espera: rojo desde',
    remove: 'Eliminar', confirmRemove: '¿Eliminar a %s? Sus sesiones terminan.', sessions: 'Sesiones abiertas', lastSeen: 'Último uso', address: 'Dirección', signOut: 'Salir', wallboard: 'Panel', reports: 'Informes', recordings: 'Grabaciones', desk: 'Mi puesto',
    badToken: 'Ese token no es válido.', disconnected: 'Sin conexión con el servidor: reconectando…', queue: 'Cola', waiting: 'En espera',
    longestWait: 'Espera más larga', serviceLevel: 'Nivel de servicio hoy', serviceLevelShort: 'Nivel de servicio %', offered: 'Ofrecidas', answered: 'Atendidas', abandoned: 'Abandonadas',
    agents: 'Agentes', agent: 'Agente', state: 'Estado', since: 'Tiempo', calls: 'Llamadas en curso', caller: 'Llamante', duration: 'Duración',
    listen: 'Escuchar', whisper: 'Susurrar', barge: 'Intervenir', end: 'Terminar', monitoring: 'Monitorización', noCalls: 'Ninguna llamada en curso.', onHold: 'en espera', abandonedToday: 'Abandonadas hoy', when: 'Hora', waitSeconds: 'Espera (s)', callback: 'Devolver llamada', callbackAsked: 'pedida', forceState: 'Cambiar el estado de', changeState: 'Cambiar estado', why: 'Por qué', apply: 'Aplicar', takeOver: 'Quedarse con la llamada',
    checkIn: 'Conectar', checkOut: 'Desconectar', ready: 'Disponible', pause: 'Pausa', reason: 'Motivo', currentCall: 'Llamada',
    screenPopUrl: 'Ficha del CRM (URL; {callerNumber}, {callId}, {var.NOMBRE}…)', openCrm: 'Abrir en el CRM', screenPopMode: 'Ficha del CRM', screenPopFrame: 'en esta página', screenPopTab: 'en otra pestaña', screenPopOff: 'no abrir',
    previewTitle: 'Campaña: siguiente contacto', campaign: 'Campaña:', previewNext: 'Siguiente contacto', previewSkip: 'Saltar', previewNone: 'No hay contactos para llamar ahora.', contact: 'Contacto',
    dialTitle: 'Llamar', dialNumber: 'Número:', dialCall: 'Llamar', dialHint: 'Suena primero su teléfono; al descolgar se marca el número. Desde el teléfono: * y el número.', dialPlaced: 'Descuelgue su teléfono: al contestar se marcará el número.',
    crmLinks: 'Enlaces del CRM', crmLinksHelp: 'Los enlaces tel: del CRM pueden abrir esta página con el número (o /ui/desk.html?dial=número).', registerTel: 'Abrir aquí los enlaces tel:',
    registerTelAsked: 'El navegador preguntará si esta página abre los enlaces tel:.', registerTelRefused: 'El navegador no lo permite aquí',
    noCall: 'Sin llamada.', holdCall: 'Retener', hangUp: 'Colgar', consultWith: 'Consultar con (extensión o cola)', consult: 'Consultar', consultComplete: 'Completar la transferencia', conference: 'Conferencia', consultCancel: 'Volver al llamante', consultRinging: 'Llamando a', consultTalking: 'Hablando con', consultConference: 'En conferencia con', unholdCall: 'Recuperar', recPause: 'Pausar grabación', recResume: 'Reanudar grabación', transferTo: 'Transferir a', transferHint: 'extensión, número o nombre de cola, o número externo permitido', transfer: 'Transferir', disposition: 'Código de cierre', note: 'Nota', codeRequired: 'La cola exige un código de cierre para terminar la posllamada.', recentCalls: 'Últimas llamadas', holdSeconds: 'Espera (s)', codeSaved: 'Guardado:', ivrChoices: 'Opciones del IVR', variables: 'Datos', previousCalls: 'Llamadas anteriores', extension: 'Extensión',
    from: 'Desde', to: 'Hasta', interval: 'Intervalo', team: 'Equipo', show: 'Mostrar', csv: 'Descargar CSV', all: 'Todas',
    overTime: 'Ofrecidas, atendidas y abandonadas', slChart: 'Nivel de servicio y objetivo', peak: 'Horas punta', productivity: 'Productividad por agente',
    surveysPage: 'Encuestas', surveysHelp: 'Encuestas tras la llamada: el documento JSON de docs/surveys.md. Cada cola (o número) elige la suya en su página.', questions: 'Preguntas', offeredBy: 'Ofrecida por', addSurvey: 'Nueva encuesta', editSurvey: 'Editar encuesta', surveyDocument: 'Documento (JSON)',
    survey: 'Encuesta tras la llamada', surveyMode: 'Se ofrece', surveyAlways: 'siempre (si cuelga el agente)', surveyOptIn: 'a quien la acepta en el IVR', surveySample: 'Muestra %',
    campaignDialling: 'Marcando', campaignTalking: 'Conectadas', campaignAgentsWaiting: 'Agentes esperando', campaignAbandon: 'Abandono hoy / 30 días',
    campaignRatio: 'Ritmo (líneas por agente)', campaignModes: 'Campañas', preview: 'vista previa', progressive: 'progresiva', predictive: 'predictiva',
    csatToday: 'CSAT hoy', csatChart: 'Satisfacción (CSAT) y respuesta a la encuesta', responseRate: 'Respuesta %', recordingKind: 'Tipo', kindCall: 'Llamada', kindSurveyComment: 'Comentario de encuesta',
    aht: 'TMO (s)', occupancy: 'Ocupación %', pauseTime: 'Pausas (s)', target: 'Objetivo', search: 'Buscar', play: 'Escuchar',
    download: 'Descargar', started: 'Inicio', status: 'Estado', language: 'Language: English', available: 'disponible', ringing: 'sonando',
    on_call: 'en llamada', wrap_up: 'posllamada', paused: 'en pausa', logged_out: 'desconectado', session: 'Sesión', ringingPhone: 'Sonando tu teléfono…',
    flowsPage: 'Flujos IVR', newFlow: 'Nuevo flujo', newFlowName: 'Nombre del nuevo flujo', flowNameRule: 'letras, cifras, espacios, _ . y -, empezando por letra o cifra (hasta 80)',
    flowNameTaken: 'Ya hay un flujo con ese nombre.', versionN: 'Versión %s', notSaved: 'sin guardar', unsaved: 'Hay cambios sin guardar.', flowLanguage: 'Idioma del flujo',
    languageOfCall: '— (el de la llamada)', languageKeep: '— (no cambia)', graphLabel: 'Diagrama del flujo: se desplaza con las flechas; los nodos se eligen en la lista de al lado',
    nodes: 'Nodos', node: 'Nodo', nodeType: 'Tipo', addNode: 'Añadir nodo', startHere: 'El flujo empieza aquí', startNode: 'inicio', firstNode: 'inicio', removeNode: 'Eliminar nodo',
    confirmRemoveNode: '¿Eliminar el nodo %s? Las salidas que llevan a él quedan vacías.', nodeNameRule: 'letras, cifras, _ y - (hasta 64)', nodeNameTaken: 'Ya hay un nodo con ese nombre.',
    noNode: 'Elige un nodo en el diagrama o en la lista.', problemCount: 'problemas: %s', missing: '— (falta)',
    flowProblems: 'El flujo tiene problemas (%s): los nodos marcados con ⚠ dicen cuáles. No se ha guardado.', jsonDocument: 'Documento JSON', applyJson: 'Aplicar el JSON',
    badJson: 'No es JSON válido: %s', badDocument: 'El documento necesita start y nodes (un objeto con un objeto por nodo).', saveFlow: 'Guardar el flujo', savedVersion: 'Guardado como versión %s.',
    versions: 'Versiones', version: 'Versión', created: 'Fecha', current: 'actual', restore: 'Restaurar', restoredVersion: 'Restaurada: ahora es la versión %s.',
    confirmRestore: '¿Restaurar la versión %s? Se guarda de nuevo como la más reciente; los cambios sin guardar se pierden.', discardChanges: 'Hay cambios sin guardar. ¿Descartarlos?',
    compare: 'Qué cambió entre dos versiones', editorVersion: 'el editor (sin guardar)', noChanges: 'Sin cambios.', nodeAdded: 'Nodo añadido', nodeRemoved: 'Nodo eliminado', nodeChanged: 'Nodo cambiado',
    walkTitle: 'Recorrer el flujo', walk: 'Recorrer', walkKeys: 'Teclas, separadas por comas (un hueco: no pulsa nada)', walkKeysRule: 'cada elemento: cifras, * y # (hasta 40), o nada',
    walkAt: 'Momento de la llamada', walkCaller: 'Número del llamante', walkDid: 'Número marcado (DID)', lookupAnswer: 'Respuesta de %s (JSON; vacío: la consulta falla)',
    walkPath: 'Recorrido', pressed: 'pulsa %s', plays: 'Suena', walkTimeout: 'no pulsa nada: se acaba el tiempo', walkInvalid: 'tecla no válida', walkTooShort: 'número demasiado corto',
    walkDefault: 'agotados los intentos: default', walkElse: 'no se cumple ninguna regla: else', rule: 'regla', rulesCount: 'reglas: %s', keys: 'teclas', walkOpen: 'abierto', walkClosed: 'cerrado',
    walkFailed: 'falla', walkAnswered: 'responde', attempt: 'intento', endQueue: 'Pasa a la cola %s con prioridad %s', endTransfer: 'Se transfiere a la extensión %s', endHangup: 'Cuelga en %s',
    endEnded: 'El flujo termina en %s y se cuelga', endWaiting: 'Espera una tecla en %s', endStopped: 'Se detiene en %s: demasiados pasos seguidos',
    typePlay: 'Reproducir', typeMenu: 'Menú', typeCollect: 'Pedir un número', typeSay: 'Decir', typeLookup: 'Consultar', typeCondition: 'Condición', typeSchedule: 'Horario',
    typeSetPriority: 'Prioridad', typeSetSkills: 'Habilidades', typeSurveyOptIn: 'Aceptar la encuesta', typeQueue: 'A una cola', typeTransfer: 'Transferir', typeHangup: 'Colgar',
    fieldLanguage: 'Idioma desde aquí', fieldMedia: 'Audios (separados por comas)', fieldPrompt: 'Locución (audios separados por comas)', fieldInvalidPrompt: 'Si la tecla no vale',
    fieldTimeoutPrompt: 'Si no pulsa nada', fieldNext: 'Después', fieldDefault: 'Agotados los intentos', fieldTimeoutMs: 'Espera (ms)', fieldRetries: 'Reintentos', fieldOptions: 'Opciones',
    optionKey: 'Tecla', optionNext: 'Lleva a', addOption: 'Añadir opción', fieldVariable: 'Variable', fieldMinDigits: 'Mínimo de cifras', fieldMaxDigits: 'Máximo de cifras',
    fieldTerminator: 'La # termina el número', fieldOnFail: 'Si no lo consigue', fieldAs: 'Decir como', asDigits: 'cifra a cifra', asNumber: 'como número', asCharacters: 'letra a letra',
    fieldUrl: 'URL', fieldMethod: 'Método', fieldSend: 'Variables que envía (separadas por comas)', fieldOnError: 'Si falla', fieldRules: 'Reglas (JSON)', fieldElse: 'Si no se cumple ninguna',
    rulesHint: 'p. ej. [{"variable": "tipo", "op": "eq", "value": "vip", "next": "ventas"}, {"callerIn": ["600111222"], "next": "vip"}]',
    fieldTimezone: 'Zona horaria (p. ej. Europe/Madrid)', fieldHours: 'Horario (p. ej. 09:00-14:00, 15:00-18:00)', dayMon: 'lunes', dayTue: 'martes', dayWed: 'miércoles', dayThu: 'jueves',
    dayFri: 'viernes', daySat: 'sábado', daySun: 'domingo', fieldHolidays: 'Festivos (AAAA-MM-DD, separados por comas)', fieldOpen: 'Si está abierto', fieldClosed: 'Si está cerrado',
    fieldPriority: 'Prioridad (0-100)', fieldSkills: 'Habilidades (nivel 1-10)', fieldQueue: 'Cola', fieldExtension: 'Extensión (2 a 10 cifras)',
  },
  en: {
    signIn: 'Sign in', token: 'Access token', username: 'User name or agent number', password: 'Password',
    badPassword: 'The name or the password is not right.', lockedOut: 'Too many failed tries: wait %s min or ask an admin to lift the lock.',
    useToken: 'Sign in with an access token', users: 'Users', addUser: 'Add a user', role: 'Role', roleAgent: 'agent',
    roleSupervisor: 'supervisor', roleAdmin: 'admin', active: 'active', disabled: 'disabled', add: 'Add',
    resetPassword: 'New password', newPassword: 'New password (10 characters or more):', disable: 'Disable', enable: 'Enable',
    forbiddenTitle: 'No access', forbiddenText: 'Your user is not allowed on this page (403).', forbiddenHome: 'Go to my page',
    agentsPage: 'Agents', readOnly: 'Read only: an admin makes the changes.', number: 'Number', name: 'Name', pin: 'PIN (4 to 12 digits)',
    dialingRights: 'External numbers allowed (patterns such as _9XXXXXXXX _00.; empty: queues and phones only)',
    skills: 'Skills', skill: 'Skill', level: 'Level', addSkill: 'Add a skill', addAgent: 'Add an agent', editAgent: 'Change agent',
    edit: 'Change', save: 'Save', cancel: 'Cancel', pauseReasons: 'Pause reasons', reasonName: 'Internal name', code: 'Code (*47)',
    label: 'Label', productive: 'Productive', confirmRemoveAgent: 'Remove %s? With history they are deactivated; their sessions and tokens end.', reasonNameRule: 'lower case, digits and _, starting with a letter',
    queuesPage: 'Queues', strategy: 'Strategy', members: 'Members', recording: 'Recording', addQueue: 'Add a queue', editQueue: 'Change queue',
    longest_idle: 'longest idle', round_robin: 'round robin', fewest_calls: 'fewest calls', ring_all: 'ring all', skillsStrategy: 'by skills',
    queueLanguage: 'Language', ringTimeout: 'Ring time (s)', wrapUp: 'Wrap-up (s)', maxWait: 'Maximum wait (s)', slThreshold: 'Service level threshold (s)',
    overflowAction: 'After the maximum wait', ofHangup: 'hang up', ofQueue: 'go to another queue', ofFlow: 'go to an IVR flow', ofMessage: 'leave a message',
    overflowQueue: 'Overflow queue', overflowFlow: 'Overflow flow', messageSeconds: 'Longest message (s)',
    announceEvery: 'Announce the position every (s, 0: never)', announcePosition: 'Say the position', announceEstimate: 'Say the estimated wait',
    moh: 'Music on hold', recNever: 'never', recAlways: 'always', recOnDemand: 'on demand', recSample: 'Share recorded (%)',
    recRetention: 'Keep recordings (days)', callbackKey: 'Callback key', overflowKey: 'Overflow key',
    requiredSkills: 'Required skills', penalty: 'Penalty', routing: 'Numbers and prompts', didRoutes: 'Incoming numbers (DID)',
    flow: 'IVR flow', queueDecides: 'the queue decides', prompts: 'Prompts', usedBy: 'Played by', wavFile: 'WAV file', upload: 'Upload',
    didRule: 'digits, with a leading + if needed', sortBy: 'Sort by', tvMode: 'TV mode', thresholds: 'Wallboard colours',
    slAmber: 'Service level: amber below (%)', slRed: 'Service level: red below (%)', waitAmber: 'Longest wait: amber from (s)',
    waitRed: 'Longest wait: red from (s)', waitingAmber: 'Waiting: amber from', waitingRed: 'Waiting: red from',
    remove: 'Remove', confirmRemove: 'Remove %s? Their sessions end.', sessions: 'Open sessions', lastSeen: 'Last use', address: 'Address', signOut: 'Sign out', wallboard: 'Wallboard', reports: 'Reports', recordings: 'Recordings', desk: 'My desk',
    badToken: 'That token is not valid.', disconnected: 'Connection to the server lost: reconnecting…', queue: 'Queue', waiting: 'Waiting',
    longestWait: 'Longest wait', serviceLevel: 'Service level today', serviceLevelShort: 'Service level %', offered: 'Offered', answered: 'Answered', abandoned: 'Abandoned',
    agents: 'Agents', agent: 'Agent', state: 'State', since: 'Time', calls: 'Calls in progress', caller: 'Caller', duration: 'Duration',
    listen: 'Listen', whisper: 'Whisper', barge: 'Barge', end: 'End', monitoring: 'Monitoring', noCalls: 'No calls in progress.', onHold: 'on hold', abandonedToday: 'Abandoned today', when: 'Time', waitSeconds: 'Wait (s)', callback: 'Call back', callbackAsked: 'asked', forceState: 'Change the state of', changeState: 'Change state', why: 'Why', apply: 'Apply', takeOver: 'Take the call over',
    checkIn: 'Check in', checkOut: 'Check out', ready: 'Ready', pause: 'Pause', reason: 'Reason', currentCall: 'Call',
    screenPopUrl: 'CRM screen pop (URL; {callerNumber}, {callId}, {var.NAME}…)', openCrm: 'Open in the CRM', screenPopMode: 'CRM record', screenPopFrame: 'in this page', screenPopTab: 'in another tab', screenPopOff: "don't open",
    previewTitle: 'Campaign: next contact', campaign: 'Campaign:', previewNext: 'Next contact', previewSkip: 'Skip', previewNone: 'No contact to call now.', contact: 'Contact',
    dialTitle: 'Call', dialNumber: 'Number:', dialCall: 'Call', dialHint: 'Your phone rings first; the number is dialled when you answer. From the phone: * and the number.', dialPlaced: 'Answer your phone: the number is dialled when you do.',
    crmLinks: 'CRM links', crmLinksHelp: 'The CRM\'s tel: links can open this page with the number (or /ui/desk.html?dial=number).', registerTel: 'Open tel: links here',
    registerTelAsked: 'The browser will ask whether this page opens tel: links.', registerTelRefused: 'The browser does not allow it here',
    noCall: 'No call.', holdCall: 'Hold', hangUp: 'Hang up', consultWith: 'Consult (extension or queue)', consult: 'Consult', consultComplete: 'Complete the transfer', conference: 'Conference', consultCancel: 'Back to the caller', consultRinging: 'Calling', consultTalking: 'Talking to', consultConference: 'In conference with', unholdCall: 'Resume call', recPause: 'Pause recording', recResume: 'Resume recording', transferTo: 'Transfer to', transferHint: 'extension, queue number or name, or an external number you may dial', transfer: 'Transfer', disposition: 'Wrap-up code', note: 'Note', codeRequired: 'The queue requires a wrap-up code to end the wrap-up.', recentCalls: 'Latest calls', holdSeconds: 'Hold (s)', codeSaved: 'Saved:', ivrChoices: 'IVR choices', variables: 'Data', previousCalls: 'Previous calls', extension: 'Extension',
    from: 'From', to: 'To', interval: 'Interval', team: 'Team', show: 'Show', csv: 'Download CSV', all: 'All',
    overTime: 'Offered, answered and abandoned', slChart: 'Service level and target', peak: 'Peak hours', productivity: 'Productivity per agent',
    surveysPage: 'Surveys', surveysHelp: 'Post-call surveys: the JSON document of docs/surveys.md. Each queue (or number) picks its own on its page.', questions: 'Questions', offeredBy: 'Offered by', addSurvey: 'New survey', editSurvey: 'Edit survey', surveyDocument: 'Document (JSON)',
    survey: 'Post-call survey', surveyMode: 'Offered', surveyAlways: 'always (when the agent hangs up)', surveyOptIn: 'to callers who accept at the IVR', surveySample: 'Sample %',
    campaignDialling: 'Dialling', campaignTalking: 'Connected', campaignAgentsWaiting: 'Agents waiting', campaignAbandon: 'Abandoned today / 30 days',
    campaignRatio: 'Pace (lines per agent)', campaignModes: 'Campaigns', preview: 'preview', progressive: 'progressive', predictive: 'predictive',
    csatToday: 'CSAT today', csatChart: 'Satisfaction (CSAT) and survey response', responseRate: 'Response %', recordingKind: 'Kind', kindCall: 'Call', kindSurveyComment: 'Survey comment',
    aht: 'AHT (s)', occupancy: 'Occupancy %', pauseTime: 'Pauses (s)', target: 'Target', search: 'Search', play: 'Play',
    download: 'Download', started: 'Started', status: 'Status', language: 'Idioma: español', available: 'available', ringing: 'ringing',
    on_call: 'on a call', wrap_up: 'wrap-up', paused: 'paused', logged_out: 'checked out', session: 'Session', ringingPhone: 'Your phone is ringing…',
    flowsPage: 'IVR flows', newFlow: 'New flow', newFlowName: 'New flow\'s name', flowNameRule: 'letters, digits, spaces, _ . and -, starting with a letter or a digit (up to 80)',
    flowNameTaken: 'There is a flow by that name already.', versionN: 'Version %s', notSaved: 'not saved', unsaved: 'There are unsaved changes.', flowLanguage: 'Flow language',
    languageOfCall: '— (the call\'s)', languageKeep: '— (unchanged)', graphLabel: 'Flow diagram: scroll it with the arrow keys; choose nodes in the list beside it',
    nodes: 'Nodes', node: 'Node', nodeType: 'Type', addNode: 'Add a node', startHere: 'The flow starts here', startNode: 'start', firstNode: 'start', removeNode: 'Remove node',
    confirmRemoveNode: 'Remove node %s? The exits leading to it are cleared.', nodeNameRule: 'letters, digits, _ and - (up to 64)', nodeNameTaken: 'There is a node by that name already.',
    noNode: 'Choose a node in the diagram or in the list.', problemCount: 'problems: %s', missing: '— (missing)',
    flowProblems: 'The flow has problems (%s): the nodes marked ⚠ say which. It was not saved.', jsonDocument: 'JSON document', applyJson: 'Apply the JSON',
    badJson: 'Not valid JSON: %s', badDocument: 'The document needs start and nodes (an object with an object per node).', saveFlow: 'Save the flow', savedVersion: 'Saved as version %s.',
    versions: 'Versions', version: 'Version', created: 'Date', current: 'current', restore: 'Restore', restoredVersion: 'Restored: it is now version %s.',
    confirmRestore: 'Restore version %s? It is saved again as the newest; unsaved changes are lost.', discardChanges: 'There are unsaved changes. Discard them?',
    compare: 'What changed between two versions', editorVersion: 'the editor (not saved)', noChanges: 'No changes.', nodeAdded: 'Node added', nodeRemoved: 'Node removed', nodeChanged: 'Node changed',
    walkTitle: 'Walk through the flow', walk: 'Walk', walkKeys: 'Keys, comma-separated (an empty one: presses nothing)', walkKeysRule: 'each item: digits, * and # (up to 40), or nothing',
    walkAt: 'Moment of the call', walkCaller: 'Caller\'s number', walkDid: 'Number dialled (DID)', lookupAnswer: 'Answer of %s (JSON; empty: the lookup fails)',
    walkPath: 'Path', pressed: 'presses %s', plays: 'Plays', walkTimeout: 'presses nothing: time out', walkInvalid: 'invalid key', walkTooShort: 'number too short',
    walkDefault: 'out of attempts: default', walkElse: 'no rule holds: else', rule: 'rule', rulesCount: 'rules: %s', keys: 'keys', walkOpen: 'open', walkClosed: 'closed',
    walkFailed: 'fails', walkAnswered: 'answers', attempt: 'attempt', endQueue: 'To queue %s with priority %s', endTransfer: 'Transferred to extension %s', endHangup: 'Hangs up at %s',
    endEnded: 'The flow ends at %s and hangs up', endWaiting: 'Waits for a key at %s', endStopped: 'Stops at %s: too many steps in a row',
    typePlay: 'Play', typeMenu: 'Menu', typeCollect: 'Collect a number', typeSay: 'Say', typeLookup: 'Look up', typeCondition: 'Condition', typeSchedule: 'Schedule',
    typeSetPriority: 'Priority', typeSetSkills: 'Skills', typeSurveyOptIn: 'Survey opt-in', typeQueue: 'To a queue', typeTransfer: 'Transfer', typeHangup: 'Hang up',
    fieldLanguage: 'Language from here', fieldMedia: 'Media (comma-separated)', fieldPrompt: 'Prompt (media, comma-separated)', fieldInvalidPrompt: 'On an invalid key',
    fieldTimeoutPrompt: 'On no key', fieldNext: 'Then', fieldDefault: 'Out of attempts', fieldTimeoutMs: 'Wait (ms)', fieldRetries: 'Retries', fieldOptions: 'Options',
    optionKey: 'Key', optionNext: 'Leads to', addOption: 'Add an option', fieldVariable: 'Variable', fieldMinDigits: 'Fewest digits', fieldMaxDigits: 'Most digits',
    fieldTerminator: '# ends the number', fieldOnFail: 'If it fails', fieldAs: 'Say as', asDigits: 'digit by digit', asNumber: 'as a number', asCharacters: 'character by character',
    fieldUrl: 'URL', fieldMethod: 'Method', fieldSend: 'Variables sent (comma-separated)', fieldOnError: 'On error', fieldRules: 'Rules (JSON)', fieldElse: 'If none holds',
    rulesHint: 'e.g. [{"variable": "tier", "op": "eq", "value": "vip", "next": "sales"}, {"callerIn": ["600111222"], "next": "vip"}]',
    fieldTimezone: 'Time zone (e.g. Europe/Madrid)', fieldHours: 'Hours (e.g. 09:00-14:00, 15:00-18:00)', dayMon: 'Monday', dayTue: 'Tuesday', dayWed: 'Wednesday', dayThu: 'Thursday',
    dayFri: 'Friday', daySat: 'Saturday', daySun: 'Sunday', fieldHolidays: 'Holidays (YYYY-MM-DD, comma-separated)', fieldOpen: 'When open', fieldClosed: 'When closed',
    fieldPriority: 'Priority (0-100)', fieldSkills: 'Skills (level 1-10)', fieldQueue: 'Queue', fieldExtension: 'Extension (2 to 10 digits)',
  },
};

export const lang = localStorage.getItem('lang') ?? (navigator.language?.startsWith('en') ? 'en' : 'es');
export const t = (key) => texts[lang][key] ?? key;

export function applyTexts(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
}

/** An API token pasted at sign-in; null when signed in with a name and password (the cookie). */
export const token = () => sessionStorage.getItem('token');

/** What a request sends to prove who it is: the token, or (the cookie goes by itself) the CSRF token on changes. */
function credentials(method) {
  if (token()) return { authorization: `Bearer ${token()}` };
  const csrf = sessionStorage.getItem('csrf');
  return method !== 'GET' && csrf ? { 'x-csrf-token': csrf } : {};
}

/** Ends the session (or forgets the token) and goes to the sign-in page. */
export async function signOut() {
  if (!token()) await fetch('/api/v1/sign-out', { method: 'POST', headers: credentials('POST') }).catch(() => undefined);
  sessionStorage.removeItem('token');
  sessionStorage.removeItem('csrf');
  location.href = '/ui/index.html';
}

/** The sign-in page, when the session or token no longer works (nothing to end on the server). */
function toSignIn() {
  sessionStorage.removeItem('token');
  sessionStorage.removeItem('csrf');
  location.href = '/ui/index.html';
}

/**
 * A request to the API as the signed-in person: `json` for a JSON body, or
 * `body` with its `type` (an uploaded file); `blob` answers the body as a Blob.
 */
export async function api(path, { method = 'GET', json, accept, body: raw, type, blob = false } = {}) {
  const headers = credentials(method);
  if (json !== undefined) headers['content-type'] = 'application/json';
  if (raw !== undefined && type) headers['content-type'] = type;
  if (accept) headers.accept = accept;
  const res = await fetch(path, { method, headers, body: json !== undefined ? JSON.stringify(json) : raw });
  if (blob && res.ok) return res.blob();
  if (res.status === 401) {
    toSignIn();
    throw new Error('signed out');
  }
  const answered = res.headers.get('content-type') ?? '';
  const body = res.status === 204 ? null : answered.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw new ApiError(res.status, body?.error?.code ?? 'error', body?.error?.message ?? `${res.status}`);
  return body;
}

/** A refusal from the API: its status, code and message (which names the field, e.g. `body/password …`). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * Shows each part of a 400's message next to the form field it names
 * (`body/<field> …`, in the element `.field-error[data-for=field]`), and
 * marks the field invalid; null clears them. Returns whether any was shown.
 */
export function showFieldErrors(form, error) {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  if (!error || error.status !== 400) return false;
  let shown = false;
  for (const part of error.message.split('; ')) {
    const field = /^body\/([A-Za-z]+)/.exec(part)?.[1];
    const place = field && form.querySelector(`.field-error[data-for="${field}"]`);
    if (!place) continue;
    place.textContent = part.replace(/^body\/[A-Za-z]+:?\s*/, '');
    form.querySelector(`[name="${field}"]`)?.setAttribute('aria-invalid', 'true');
    shown = true;
  }
  return shown;
}

/**
 * Who is signed in (by cookie or token); sends to the sign-in page when nobody is.
 * A page for some roles only (`roles`) tells anyone else plainly, with the way to
 * their own page, and goes no further (its requests would only be refused).
 */
export async function signedIn(roles) {
  const me = await api('/api/v1/me');
  if (me.csrfToken) sessionStorage.setItem('csrf', me.csrfToken);
  if (roles && !roles.includes(me.role)) {
    forbidden(me);
    await new Promise(() => {});
  }
  return me;
}

function forbidden(me) {
  navigation(me, null);
  const title = document.createElement('h2');
  title.textContent = t('forbiddenTitle');
  const text = document.createElement('p');
  text.id = 'forbidden';
  text.setAttribute('role', 'alert');
  text.textContent = t('forbiddenText');
  const home = document.createElement('a');
  home.href = me.role === 'agent' ? 'desk.html' : 'wallboard.html';
  home.textContent = t('forbiddenHome');
  document.querySelector('main').replaceChildren(title, text, home);
  document.documentElement.lang = lang;
}

/** The navigation for the role, the language switch and sign-out. */
export function navigation(me, current) {
  const nav = document.querySelector('nav');
  const pages = me.role === 'agent' ? [['desk', 'desk.html']] : [['wallboard', 'wallboard.html'], ['reports', 'reports.html'], ['recordings', 'recordings.html']];
  if (me.role !== 'agent') pages.push(['agentsPage', 'agents.html'], ['queuesPage', 'queues.html'], ['routing', 'routing.html'], ['flowsPage', 'flows.html'], ['surveysPage', 'surveys.html']);
  if (me.role === 'admin') pages.push(['users', 'users.html']);
  nav.innerHTML = '';
  for (const [key, href] of pages) {
    const a = document.createElement('a');
    a.href = href;
    a.textContent = t(key);
    if (key === current) a.setAttribute('aria-current', 'page');
    nav.append(a);
  }
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = me.name ?? me.user?.username ?? me.role;
  const language = document.createElement('button');
  language.type = 'button';
  language.textContent = t('language');
  language.onclick = () => { localStorage.setItem('lang', lang === 'es' ? 'en' : 'es'); location.reload(); };
  const out = document.createElement('button');
  out.type = 'button';
  out.textContent = t('signOut');
  out.onclick = signOut;
  nav.append(who, language, out);
}

/**
 * The live feed: calls onMessage for each event; shows the banner while the
 * connection is down and reconnects by itself (1 s, 2 s, … up to 10 s).
 * A token that no longer works ends it and goes back to sign-in: a close
 * with code 4001 (revoked, or its user offboarded), or a refused handshake —
 * which a page cannot tell from a network failure (both close with 1006),
 * so after a connection that never opened it asks /api/v1/me, and a 401
 * there signs out. Retrying for ever with a dead token would only knock on
 * the server every 10 s.
 */
export function liveFeed(onMessage, onReconnect = () => {}) {
  const banner = document.getElementById('banner');
  let delay = 1000;
  let first = true;
  const connect = () => {
    // A token goes in the URL (a browser cannot set headers on a WebSocket); the sign-in cookie goes by itself.
    const query = token() ? `?token=${encodeURIComponent(token())}` : '';
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/events${query}`);
    let opened = false;
    ws.onopen = () => {
      opened = true;
      delay = 1000;
      banner.hidden = true;
      if (!first) onReconnect();
      first = false;
    };
    ws.onmessage = (event) => onMessage(JSON.parse(event.data));
    ws.onclose = async (event) => {
      if (event.code === 4001) return toSignIn();
      banner.hidden = false;
      banner.textContent = t('disconnected');
      if (!opened && (await tokenRefused())) return toSignIn();
      setTimeout(connect, delay);
      delay = Math.min(10_000, delay * 2);
    };
  };
  connect();
}

/** Whether the API refuses the token or the session (401); a network failure or any other answer is not a refusal. */
async function tokenRefused() {
  try {
    return (await fetch('/api/v1/me', { headers: credentials('GET') })).status === 401;
  } catch {
    return false;
  }
}

/** A small button that runs `onClick`. */
export function actionButton(label, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'action';
  b.textContent = label;
  b.onclick = onClick;
  return b;
}

/**
 * Sends a form's change: a 400 is shown next to the fields it names, any
 * other refusal in the form's alert (`errorId`). Returns whether it was done.
 */
export async function submitForm(form, errorId, send) {
  showFieldErrors(form, null);
  const error = document.getElementById(errorId);
  error.hidden = true;
  try {
    await send();
    return true;
  } catch (err) {
    if (!(err instanceof ApiError) || !showFieldErrors(form, err)) {
      error.hidden = false;
      error.textContent = err.message;
    }
    return false;
  }
}

/**
 * Runs a row's change (a button in a table), shows a refusal in the alert
 * `errorId`, then draws the page again with `render`.
 */
export async function runChange(errorId, change, render) {
  const error = document.getElementById(errorId);
  error.hidden = true;
  try {
    await change();
  } catch (err) {
    error.hidden = false;
    error.textContent = err.message;
  }
  await render();
}

/** A skills editor in `rows` (an element): rows of a skill's name and level 1-10. */
export function skillsEditor(rows) {
  const add = (name = '', level = 5) => {
    const row = document.createElement('div');
    row.className = 'skill-row';
    const nameInput = document.createElement('input');
    nameInput.className = 'skill-name';
    nameInput.value = name;
    nameInput.maxLength = 32;
    nameInput.setAttribute('aria-label', t('skill'));
    const levelInput = document.createElement('input');
    levelInput.className = 'skill-level';
    levelInput.type = 'number';
    levelInput.min = '1';
    levelInput.max = '10';
    levelInput.value = String(level);
    levelInput.setAttribute('aria-label', t('level'));
    row.append(nameInput, levelInput, actionButton(t('remove'), () => row.remove()));
    rows.append(row);
  };
  return {
    add,
    set(skills) {
      rows.innerHTML = '';
      for (const [name, level] of Object.entries(skills ?? {})) add(name, level);
    },
    value() {
      return Object.fromEntries([...rows.querySelectorAll('.skill-row')]
        .map((row) => [row.querySelector('.skill-name').value.trim(), Number(row.querySelector('.skill-level').value)])
        .filter(([name]) => name !== ''));
    },
  };
}

export function seconds(total) {
  if (total === null || total === undefined) return '—';
  const s = Math.floor(total);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

export function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  row.append(td);
  return td;
}

/** Downloads what an authorised request answers (a CSV) as a file. */
export async function download(path, name, accept) {
  const res = await fetch(path, { headers: { ...credentials('GET'), accept } });
  const blob = await res.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
