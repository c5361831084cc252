// The OHIF app-config.js the peer serves at /viewer/app-config.js instead of the bundle's (which
// points at a public demo server): one data source, this origin's own DICOMweb service, so the
// viewer's requests carry the clinician's session cookie and need no CORS and no token.
import { DICOMWEB_BASE } from '../dicomweb/constants.ts'
import { VIEWER_BASE } from './constants.ts'

/**
 * OHIF 3.13's configuration (platform/app/public/config/default.js of the release, trimmed to what
 * differs from its defaults). PUBLIC_URL is set here because the bundle's index.html set it in an
 * inline script, which the viewer's CSP does not run (node/viewer/index-html.ts drops it).
 */
export function viewerAppConfig (): string {
  const config = {
    routerBasename: VIEWER_BASE,
    extensions: [],
    modes: [],
    customizationService: {},
    showStudyList: true,
    maxNumberOfWebWorkers: 3,
    // Same origin: the warning about cross-origin isolation (SharedArrayBuffer) would only alarm.
    showWarningMessageForCrossOrigin: false,
    showCPUFallbackMessage: true,
    showLoadingIndicator: true,
    strictZSpacingForVolumeViewport: true,
    investigationalUseDialog: { option: 'never' },
    defaultDataSourceName: 'medichain',
    dataSources: [{
      namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
      sourceName: 'medichain',
      configuration: {
        friendlyName: 'This hospital',
        name: 'medichain',
        wadoUriRoot: '@DICOMWEB@',
        qidoRoot: '@DICOMWEB@',
        wadoRoot: '@DICOMWEB@',
        // The peer's QIDO-RS answers its own attribute set (node/dicomweb/qido.ts), not includefield.
        qidoSupportsIncludeField: false,
        // Frames as native pixel data (WADO-RS frames), thumbnails drawn from them.
        imageRendering: 'wadors',
        thumbnailRendering: 'wadors',
        enableStudyLazyLoad: true,
        supportsFuzzyMatching: false,
        supportsWildcard: true,
        omitQuotationForMultipartRequest: true,
        bulkDataURI: { enabled: true, relativeResolution: 'studies' }
      }
    }]
  }
  const json = JSON.stringify(config, null, 2).replaceAll('"@DICOMWEB@"', `window.location.origin + ${JSON.stringify(DICOMWEB_BASE)}`)
  return [
    '// Served by the Medichain peer (node/viewer/app-config.ts): OHIF reads this hospital\'s DICOMweb at this origin.',
    `window.PUBLIC_URL = ${JSON.stringify(`${VIEWER_BASE}/`)};`,
    // The bundle calls browserImportFunction for ES modules it loads at run time (index.html defined it inline).
    'window.browserImportFunction = function (url) { return import(url) };',
    `window.config = ${json};`,
    ''
  ].join('\n')
}
